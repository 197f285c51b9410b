package service

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
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

func newRedisQueue(t *testing.T) *RedisQueue {
	t.Helper()
	q, err := NewRedisQueue(context.Background(), redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q.key = fmt.Sprintf("%s:test:%s:%d", RedisQueueKey, t.Name(), time.Now().UnixNano())
	t.Cleanup(func() { q.c.Del(context.Background(), q.key); q.Close() })
	return q
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

// TestServiceOnRedisQueue runs builds through the Redis backend, including
// a restart with builds queued in Redis.
func TestServiceOnRedisQueue(t *testing.T) {
	q := newRedisQueue(t)
	dir := t.TempDir()
	r := newFakeRunner()
	r.gate = make(chan struct{})
	noClose := func(*Store) Queue { return nopClose{q} }
	ts := startServer(t, dir, noClose, r, Config{Workers: 1})
	var ids []string
	for i := 0; i < 4; i++ {
		ids = append(ids, ts.create(t, "redis", fmt.Sprintf("RUN echo %d", i)).Id)
	}
	waitStarted(t, r, ids[0])
	ts.waitStatus(t, ids[0], StatusRunning)
	ts.stop()
	ts2 := startServer(t, dir, noClose, newFakeRunner(), Config{Workers: 2})
	for _, id := range ids {
		ts2.waitStatus(t, id, StatusSuccess)
	}
	if n, _ := q.c.LLen(context.Background(), q.key).Result(); n != 0 {
		t.Errorf("%d ids left in the redis list", n)
	}
}

// nopClose keeps the shared client open across a test's restart.
type nopClose struct{ Queue }

func (nopClose) Close() error { return nil }
