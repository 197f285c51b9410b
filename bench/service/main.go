// Command service is the build service's load test: it starts `wrenn serve`
// (real local agent, busybox base, Badger queue) with 4 workers, queues 200
// builds of small recipes of which only a few are distinct (so most are
// cache hits), waits for all of them and reports builds per second, the
// p50/p99 time a build waited in the queue, and whether any build was lost.
//
//	go build -o /tmp/wrenn ./cmd/wrenn && go run ./bench/service -wrenn /tmp/wrenn
//
// It needs root (runc) and busybox-static, like the agent's tests. With
// -queue redis://HOST:PORT/DB the records and queue live in that Redis
// database, which is emptied first (use a scratch one).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
	"wrenn.dev/wrenn/service"
)

func main() {
	bin := flag.String("wrenn", "wrenn", "the wrenn binary")
	n := flag.Int("builds", 200, "builds to queue")
	workers := flag.Int("workers", 4, "server workers")
	distinct := flag.Int("distinct", 10, "distinct recipes among the builds")
	queue := flag.String("queue", "badger", "queue backend: badger or redis://HOST:PORT/DB (emptied first)")
	flag.Parse()
	if err := run(*bin, *n, *workers, *distinct, *queue); err != nil {
		fmt.Fprintln(os.Stderr, "bench/service:", err)
		os.Exit(1)
	}
}

func run(bin string, n, workers, distinct int, queue string) error {
	if queue != "badger" {
		opts, err := redis.ParseURL(queue)
		if err != nil {
			return err
		}
		c := redis.NewClient(opts)
		err = c.FlushDB(context.Background()).Err()
		c.Close()
		if err != nil {
			return fmt.Errorf("empty redis db: %v", err)
		}
	}
	dir, err := os.MkdirTemp("", "wrenn-bench-service-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "root")
	if out, err := exec.Command(bin, "base", "bootstrap", "--root", root, "minimal", "--from", "busybox").CombinedOutput(); err != nil {
		return fmt.Errorf("bootstrap: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--root", root,
		"--cache-dir", filepath.Join(dir, "cache"), "--workers", fmt.Sprint(workers), "--queue", queue)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("wrenn serve did not start: %v", err)
	}
	c := service.NewClient(regexp.MustCompile(`http://\S+`).FindString(line), "")
	ctx := context.Background()

	start := time.Now()
	ids := make([]string, n)
	for i := range ids {
		resp, err := c.CreateBuild(ctx, connect.NewRequest(&buildv1.CreateBuildRequest{
			Name:        fmt.Sprintf("load-%d", i%distinct),
			Wrennfile:   fmt.Sprintf("RUN echo base > /base\nRUN echo %d > /variant\n", i%distinct),
			SkipPrePost: true,
		}))
		if err != nil {
			return fmt.Errorf("create %d: %v", i, err)
		}
		ids[i] = resp.Msg.Build.Id
	}
	queued := time.Since(start)
	var waits []time.Duration
	lost, failed, cached := 0, 0, 0
	for _, id := range ids {
		for {
			resp, err := c.GetBuild(ctx, connect.NewRequest(&buildv1.GetBuildRequest{Id: id}))
			if err != nil {
				lost++
				break
			}
			b := resp.Msg.Build
			if service.Finished(b.Status) {
				if b.Status != service.StatusSuccess {
					failed++
				}
				cached += int(b.CachedSteps)
				waits = append(waits, b.StartedAt.AsTime().Sub(b.CreatedAt.AsTime()))
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	fmt.Printf("builds %d, workers %d, distinct recipes %d, queue %s\n", n, workers, distinct, queue)
	fmt.Printf("queued all in %v; finished all in %v: %.1f builds/s\n", queued.Round(time.Millisecond), elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	if len(waits) > 0 {
		fmt.Printf("time in queue: p50 %v, p99 %v\n", waits[len(waits)/2].Round(time.Millisecond), waits[len(waits)*99/100].Round(time.Millisecond))
	}
	fmt.Printf("cached steps %d of %d; failed %d; lost %d\n", cached, 2*n, failed, lost)
	if lost > 0 || failed > 0 {
		return fmt.Errorf("%d builds lost, %d failed", lost, failed)
	}
	return nil
}
