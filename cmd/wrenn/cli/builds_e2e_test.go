package cli

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
	"wrenn.dev/wrenn/proto/wrenn/build/v1/buildv1connect"
	"wrenn.dev/wrenn/service"
)

// serveProc is a `wrenn serve` subprocess.
type serveProc struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
}

func startServe(t *testing.T, bin string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Wait()
		t.Fatalf("wrenn serve did not start: %v\n%s", err, p.stderr)
	}
	p.url = regexp.MustCompile(`http://\S+`).FindString(line)
	return p
}

func e2eCreate(t *testing.T, c buildv1connect.BuildServiceClient, name, wrennfile string) string {
	t.Helper()
	resp, err := c.CreateBuild(context.Background(), connect.NewRequest(&buildv1.CreateBuildRequest{
		Name: name, Wrennfile: wrennfile, SkipPrePost: true,
	}))
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return resp.Msg.Build.Id
}

func e2eWait(t *testing.T, c buildv1connect.BuildServiceClient, id string, want ...string) *buildv1.Build {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := c.GetBuild(context.Background(), connect.NewRequest(&buildv1.GetBuildRequest{Id: id}))
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		for _, w := range want {
			if resp.Msg.Build.Status == w {
				return resp.Msg.Build
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("build %s: status %s (error %q), want %v", id, resp.Msg.Build.Status, resp.Msg.Build.Error, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeEndToEnd runs `wrenn serve` as a subprocess with the real local
// agent (runc, overlayfs) on a busybox base, real Badger and connect over
// loopback: many builds on 2 workers, a failing step, cancel while pending
// and while running, an invalid recipe and an escaping archive rejected at
// create, and a kill -9 with builds queued and running that loses nothing.
func TestServeEndToEnd(t *testing.T) {
	bin, root, cacheDir := e2eSetup(t)
	serveArgs := []string{"--root", root, "--cache-dir", cacheDir, "--workers", "2", "--token", "tk"}
	srv := startServe(t, bin, serveArgs...)
	c := service.NewClient(srv.url, "tk")
	ctx := context.Background()

	// Rejected at create.
	_, err := c.CreateBuild(ctx, connect.NewRequest(&buildv1.CreateBuildRequest{Name: "bad", Recipe: []string{"RUN true", "FROBNICATE"}}))
	if d := service.DiagnosticsFromError(err); len(d) == 0 || d[0].Range.Start.Line != 2 || !strings.Contains(err.Error(), "recipe:2:1") {
		t.Errorf("invalid recipe: err %v, diagnostics %v", err, d)
	}
	// The CLI points its diagnostics at the user's file, not the server's
	// name for it.
	bad := filepath.Join(t.TempDir(), "bad.Wrennfile")
	os.WriteFile(bad, []byte("FROM minimal\nFROBNICATE\n"), 0o644)
	cliOut, err := exec.Command(bin, "builds", "create", "--server", srv.url, "--token", "tk", "--name", "bad", "-f", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(cliOut), bad+":2:1: error:") {
		t.Errorf("builds create of an invalid file: %v\n%s", err, cliOut)
	}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "../../etc/evil", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	_, err = c.CreateBuild(ctx, connect.NewRequest(&buildv1.CreateBuildRequest{Name: "esc", Recipe: []string{"COPY evil /evil"}, Archive: tb.Bytes()}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "../../etc/evil") {
		t.Errorf("escaping archive: %v", err)
	}

	// Two long builds take both workers; the rest queue behind them.
	long1 := e2eCreate(t, c, "long", "RUN sleep 60\n")
	long2 := e2eCreate(t, c, "long", "RUN echo two && sleep 60\n")
	var quick []string
	for i := 0; i < 6; i++ {
		quick = append(quick, e2eCreate(t, c, "quick", fmt.Sprintf("RUN echo base > /base\nRUN echo %d > /n\n", i%3)))
	}
	failing := e2eCreate(t, c, "fail", "RUN echo ok\nRUN echo oops >&2; exit 3\n")
	pending := e2eCreate(t, c, "pend", "RUN echo never\n")
	e2eWait(t, c, long1, service.StatusRunning)
	e2eWait(t, c, long2, service.StatusRunning)
	if _, err := c.CancelBuild(ctx, connect.NewRequest(&buildv1.CancelBuildRequest{Id: pending})); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the step is running in runc
	if _, err := c.CancelBuild(ctx, connect.NewRequest(&buildv1.CancelBuildRequest{Id: long1})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CancelBuild(ctx, connect.NewRequest(&buildv1.CancelBuildRequest{Id: long2})); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{long1, long2, pending} {
		if b := e2eWait(t, c, id, service.StatusCancelled, service.StatusFailed, service.StatusSuccess); b.Status != service.StatusCancelled {
			t.Errorf("cancelled build %s ended %s (%s)", id, b.Status, b.Error)
		}
	}
	for _, id := range quick {
		if b := e2eWait(t, c, id, service.StatusSuccess, service.StatusFailed); b.Status != service.StatusSuccess {
			t.Errorf("build %s: %s: %s", id, b.Status, b.Error)
		}
	}
	fb := e2eWait(t, c, failing, service.StatusFailed, service.StatusSuccess)
	if !strings.HasPrefix(fb.Error, "recipe step ") || !strings.Contains(fb.Error, " failed: ") {
		t.Errorf("failed build error = %q, want the seed's form", fb.Error)
	}
	// The CLI follows a finished build from its stored log.
	out, err := exec.Command(bin, "builds", "logs", "-f", "--progress", "plain", "--server", srv.url, "--token", "tk", quick[5]).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "RUN echo 2 > /n") || !strings.Contains(string(out), "success") {
		t.Errorf("builds logs -f: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "builds", "logs", "-f", "--server", srv.url, "--token", "tk", failing).CombinedOutput()
	if code := exitCodeOf(err); code != 1 || !strings.Contains(string(out), fb.Error) {
		t.Errorf("builds logs -f of a failed build: exit %d\n%s", code, out)
	}
	_, err = c.CancelBuild(ctx, connect.NewRequest(&buildv1.CancelBuildRequest{Id: quick[0]}))
	if err == nil || !strings.Contains(err.Error(), "build is already success") {
		t.Errorf("cancel finished: %v", err)
	}

	// kill -9 with two builds running and more queued: nothing is lost.
	run1 := e2eCreate(t, c, "restart", "RUN echo a > /a\nRUN sleep 2\n")
	run2 := e2eCreate(t, c, "restart", "RUN echo b > /b\nRUN sleep 2\n")
	var queued []string
	for i := 0; i < 4; i++ {
		queued = append(queued, e2eCreate(t, c, "restart", fmt.Sprintf("RUN echo q%d\n", i)))
	}
	e2eWait(t, c, run1, service.StatusRunning)
	e2eWait(t, c, run2, service.StatusRunning)
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()
	// The restarted server also knows an agent that is down: placement
	// leaves it out and every build still finishes on the local one.
	srv2 := startServe(t, bin, append(serveArgs, "--agent", "http://127.0.0.1:1")...)
	c2 := service.NewClient(srv2.url, "tk")
	for _, id := range append([]string{run1, run2}, queued...) {
		b := e2eWait(t, c2, id, service.StatusSuccess, service.StatusFailed, service.StatusCancelled)
		if b.Status != service.StatusSuccess {
			t.Errorf("after kill -9, build %s: %s %s", id, b.Status, b.Error)
		}
	}
	for _, id := range []string{run1, run2} {
		resp, _ := c2.GetBuild(ctx, connect.NewRequest(&buildv1.GetBuildRequest{Id: id}))
		if resp.Msg.Build.Attempts != 2 {
			t.Errorf("re-queued build %s attempts = %d, want 2", id, resp.Msg.Build.Attempts)
		}
	}
	srv2.cmd.Process.Signal(syscall.SIGTERM)
	if err := srv2.cmd.Wait(); err != nil {
		t.Errorf("wrenn serve after SIGTERM: %v\n%s", err, srv2.stderr)
	}
	_ = os.Remove(bin)
}

func exitCodeOf(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// e2eSetup builds the wrenn binary and bootstraps a busybox base.
func e2eSetup(t *testing.T) (bin, root, cacheDir string) {
	t.Helper()
	dir := t.TempDir()
	bin = filepath.Join(dir, "wrenn")
	if out, err := exec.Command("go", "build", "-o", bin, "wrenn.dev/wrenn/cmd/wrenn").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root, cacheDir = filepath.Join(dir, "root"), filepath.Join(dir, "cache")
	if out, err := exec.Command(bin, "base", "bootstrap", "--root", root, "minimal", "--from", "busybox").CombinedOutput(); err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, out)
	}
	return bin, root, cacheDir
}

// testRedisURL is WRENN_TEST_REDIS, or a private redis-server on a free
// loopback port.
func testRedisURL(t *testing.T) string {
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
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server (install redis-server): %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start listening")
		}
	}
	return "redis://" + addr + "/0"
}

// testRedisDB is WRENN_TEST_REDIS (or a private redis-server) on database
// 7, emptied: the controllers use Redis's default key names.
func testRedisDB(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(testRedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/7"
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return u.String()
}

// TestServeRedisControllersTakeOver runs two `wrenn serve --queue redis://`
// controllers over one real agent: builds created through either finish;
// the controller running a build is killed with SIGKILL mid-step, and the
// other takes the build over once its lease expires and finishes it,
// with every queued build.
func TestServeRedisControllersTakeOver(t *testing.T) {
	bin, root, cacheDir := e2eSetup(t)
	_, agentURL := startAgent(t, bin, root)
	redisURL := testRedisDB(t)
	args := func(cache string) []string {
		return []string{"--agent", agentURL, "--cache-dir", cache, "--workers", "1", "--queue", redisURL, "--lease-ttl", "2s"}
	}
	srv := map[int]*serveProc{}
	for _, name := range []string{"a", "b"} {
		p := startServe(t, bin, args(cacheDir+"-"+name)...)
		srv[p.cmd.Process.Pid] = p
	}
	var any *serveProc
	for _, p := range srv {
		any = p
	}
	c := service.NewClient(any.url, "")
	long := e2eCreate(t, c, "long", "RUN echo start; sleep 4; echo end\n")
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, e2eCreate(t, c, "redis", fmt.Sprintf("RUN echo %d > /n\n", i%2)))
	}
	b := e2eWait(t, c, long, service.StatusRunning)
	pid, err := strconv.Atoi(b.Controller[strings.LastIndexByte(b.Controller, '/')+1:])
	if err != nil || srv[pid] == nil {
		t.Fatalf("running build's controller %q is neither server", b.Controller)
	}
	srv[pid].cmd.Process.Signal(syscall.SIGKILL)
	srv[pid].cmd.Wait()
	delete(srv, pid)
	for _, p := range srv {
		c = service.NewClient(p.url, "")
	}
	for _, id := range append(ids, long) {
		if b := e2eWait(t, c, id, service.StatusSuccess, service.StatusFailed); b.Status != service.StatusSuccess {
			t.Errorf("build %s: %s %s", id, b.Status, b.Error)
		}
	}
	b = e2eWait(t, c, long, service.StatusSuccess)
	if b.Attempts != 2 || strings.HasSuffix(b.Controller, fmt.Sprintf("/%d", pid)) || b.Logs[0].Stdout != "start\nend\n" {
		t.Errorf("taken-over build: attempts %d controller %q logs %v", b.Attempts, b.Controller, b.Logs)
	}
}
