package service

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// redisURL returns WRENN_TEST_REDIS or starts a private redis-server on a
// free loopback port for the test.
func redisURL(t *testing.T) string {
	t.Helper()
	if u := os.Getenv("WRENN_TEST_REDIS"); u != "" {
		return u
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server (install redis-server): %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start listening")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "redis://" + addr + "/0"
}

// testRedisQueue is a queue on its own keys with a short lease, on a
// client of its own (as another controller would have).
func testRedisQueue(t *testing.T, url, key string, ttl time.Duration) *RedisQueue {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	q := NewRedisQueueOn(redis.NewClient(opts), key, ttl)
	t.Cleanup(func() {
		ctx := context.Background()
		q.c.Del(ctx, q.key, q.processing)
		if keys, _ := q.c.Keys(ctx, q.leasePfx+"*").Result(); len(keys) > 0 {
			q.c.Del(ctx, keys...)
		}
		q.Close()
	})
	return q
}

func uniqueKey(t *testing.T) string {
	return fmt.Sprintf("%s:test:%s:%d", RedisQueueKey, t.Name(), time.Now().UnixNano())
}

func newRedisQueue(t *testing.T) *RedisQueue {
	return testRedisQueue(t, redisURL(t), uniqueKey(t), DefaultLeaseTTL)
}

// testRedisStore is a RedisStore under a prefix of its own, deleted after.
func testRedisStore(t *testing.T, c *redis.Client) *RedisStore {
	prefix := fmt.Sprintf("wrenn-test:%s:%d:", t.Name(), time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, _ := c.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return NewRedisStore(c, prefix)
}

// testQueue is the conformance suite every Queue backend passes.
func testQueue(t *testing.T, q Queue) {
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if err := q.Push(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	got, err := q.Queued(ctx)
	if err != nil || fmt.Sprint(got) != "[a b c]" {
		t.Fatalf("Queued = %v, %v", got, err)
	}
	for _, want := range []string{"a", "b", "c"} {
		id, err := q.Pop(ctx)
		if err != nil || id != want {
			t.Fatalf("Pop = %q, %v; want %q", id, err, want)
		}
	}
	// Pop blocks until a push, and honours its context.
	done := make(chan string)
	go func() {
		id, _ := q.Pop(ctx)
		done <- id
	}()
	select {
	case id := <-done:
		t.Fatalf("Pop on an empty queue returned %q", id)
	case <-time.After(50 * time.Millisecond):
	}
	if err := q.Push(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if id := <-done; id != "d" {
		t.Fatalf("blocked Pop = %q, want d", id)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := q.Pop(cctx); err == nil {
		t.Fatal("Pop on an empty queue with an ended context returned no error")
	}
}

func TestRedisQueueConformance(t *testing.T) { testQueue(t, newRedisQueue(t)) }

func TestBadgerQueueConformance(t *testing.T) {
	st, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q, err := NewBadgerQueue(st)
	if err != nil {
		t.Fatal(err)
	}
	testQueue(t, q)
}

func TestRedisRecordsConformance(t *testing.T) {
	q := newRedisQueue(t)
	testRecords(t, testRedisStore(t, q.c))
}

// redisController is one `wrenn serve` sharing the Redis queue and
// records: its own client, queue (lease owner) and connect server.
func redisController(t *testing.T, url, key string, st *RedisStore, r *fakeRunner, workers int) *testServer {
	t.Helper()
	q := testRedisQueue(t, url, key, time.Second)
	return startServer(t, "", func(*Store) Queue { return q }, r, Config{Store: st, Workers: workers, ControllerID: "ctl-" + r.host})
}

// TestRedisControllerDiesBuildTakenOver: controller A takes a build and
// dies with it running (its heartbeat stops, nothing is acknowledged); B's
// reaper finds the lease expired, puts the build back, and B runs it to
// the end. Builds queued meanwhile all finish; nothing is left in the
// queue, the processing list or the leases.
func TestRedisControllerDiesBuildTakenOver(t *testing.T) {
	url, key := redisURL(t), uniqueKey(t)
	st := testRedisStore(t, newRedisQueue(t).c)
	rA := newFakeRunner()
	rA.host, rA.gate = "A", make(chan struct{}) // never released: A dies mid-build
	a := redisController(t, url, key, st, rA, 1)
	x := a.create(t, "x", "RUN echo x")
	waitStarted(t, rA, x.Id)
	a.waitStatus(t, x.Id, StatusRunning)

	rB := newFakeRunner()
	rB.host = "B"
	b := redisController(t, url, key, st, rB, 2)
	var more []string
	for i := range 4 {
		more = append(more, b.create(t, "more", fmt.Sprintf("RUN echo %d", i)).Id)
	}
	a.stop()

	got := b.waitStatus(t, x.Id, StatusSuccess)
	if got.Attempts != 2 || got.Host != "B" || got.Controller != "ctl-B" || rB.runCount(x.Id) != 1 {
		t.Errorf("taken-over build: attempts %d host %q controller %q runs on B %d", got.Attempts, got.Host, got.Controller, rB.runCount(x.Id))
	}
	for _, id := range more {
		b.waitStatus(t, id, StatusSuccess)
		if n := rA.runCount(id) + rB.runCount(id); n != 1 {
			t.Errorf("build %s ran %d times", id, n)
		}
	}
	ctx := context.Background()
	q := newRedisQueue(t)
	for _, k := range []string{key, key + ":processing"} {
		if n, _ := q.c.LLen(ctx, k).Result(); n != 0 {
			t.Errorf("%d ids left in %s", n, k)
		}
	}
	if keys, _ := q.c.Keys(ctx, key+":lease:*").Result(); len(keys) != 0 {
		t.Errorf("leases left: %v", keys)
	}
}

// TestRedisTwoControllersShareBuilds: two live controllers share the
// queue and the records: every build runs exactly once on one of them,
// either lists and gets every build, a watcher on one follows a build the
// other runs, and a cancel through one stops a build the other runs.
func TestRedisTwoControllersShareBuilds(t *testing.T) {
	url, key := redisURL(t), uniqueKey(t)
	st := testRedisStore(t, newRedisQueue(t).c)
	rA, rB := newFakeRunner(), newFakeRunner()
	rA.host, rB.host = "A", "B"
	ctl := map[string]*testServer{"A": redisController(t, url, key, st, rA, 2), "B": redisController(t, url, key, st, rB, 2)}
	var ids []string
	for i := range 20 {
		c := ctl["A"]
		if i%2 == 1 {
			c = ctl["B"]
		}
		ids = append(ids, c.create(t, "shared", "RUN echo a", fmt.Sprintf("RUN echo %d", i)).Id)
	}
	on := map[string]int{}
	for _, id := range ids {
		b := ctl["B"].waitStatus(t, id, StatusSuccess)
		on[b.Host]++
		if n := rA.runCount(id) + rB.runCount(id); n != 1 {
			t.Errorf("build %s ran %d times", id, n)
		}
	}
	if on["A"] == 0 || on["B"] == 0 {
		t.Logf("builds per controller: %v (one took them all)", on)
	}
	list, err := ctl["A"].client.ListBuilds(context.Background(), connect.NewRequest(&buildv1.ListBuildsRequest{Name: "shared", Status: StatusSuccess, PageSize: 100}))
	if err != nil || len(list.Msg.Builds) != 20 {
		t.Fatalf("list through A: %v", err)
	}

	// A build that runs until cancelled, on whichever controller took it.
	sleeper := ctl["A"].create(t, "sleeper", "RUN echo a", "RUN sleep")
	rec := ctl["A"].waitStatus(t, sleeper.Id, StatusRunning)
	for rec.CurrentStep != 2 {
		time.Sleep(10 * time.Millisecond)
		rec = ctl["A"].get(t, sleeper.Id)
	}
	other := ctl["A"]
	if rec.Host == "A" {
		other = ctl["B"]
	}
	stream, err := other.client.WatchBuild(context.Background(), connect.NewRequest(&buildv1.WatchBuildRequest{Id: sleeper.Id}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.client.CancelBuild(context.Background(), connect.NewRequest(&buildv1.CancelBuildRequest{Id: sleeper.Id})); err != nil {
		t.Fatal(err)
	}
	other.waitStatus(t, sleeper.Id, StatusCancelled)
	// The runner's context ended: the controller running it moved on.
	next := other.create(t, "next", "RUN echo next")
	other.waitStatus(t, next.Id, StatusSuccess)
	// The watcher on the other controller followed from the record: the
	// status, the finished step, then cancelled.
	events := strings.Join(collect(t, stream), "|")
	if want := "status running|start 1 RUN echo a|stdout out RUN echo a\n|end 1 ok|status cancelled"; events != want {
		t.Errorf("remote watch:\n got %s\nwant %s", events, want)
	}
}
