package cache_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/cache/cachetest"
)

// The tests below start this test binary again as a helper process (the
// re-exec pattern of os/exec's own tests): WRENN_CACHE_HELPER names the
// role, WRENN_CACHE_DIR the store.
func TestMain(m *testing.M) {
	switch os.Getenv("WRENN_CACHE_HELPER") {
	case "":
		os.Exit(m.Run())
	case "holder":
		helperHolder(os.Getenv("WRENN_CACHE_DIR"))
	case "writer":
		helperWriter(os.Getenv("WRENN_CACHE_DIR"))
	case "pruner":
		helperPruner(os.Getenv("WRENN_CACHE_DIR"), os.Getenv("WRENN_CACHE_LAYERS"))
	default:
		fmt.Fprintln(os.Stderr, "unknown helper")
		os.Exit(2)
	}
}

// helperHolder opens the store and waits to be killed.
func helperHolder(dir string) {
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer s.Close()
	fmt.Println("ready")
	time.Sleep(time.Minute)
	os.Exit(0)
}

// helperWriter writes records as fast as it can, printing the number of
// each Put after it returned, until it is killed.
func helperWriter(dir string) {
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	ctx := context.Background()
	start := 0
	_ = s.Records(ctx, false, func(cache.Record) error { start++; return nil })
	w := bufio.NewWriter(os.Stdout)
	for i := start; ; i++ {
		r := cachetest.Rec(i, i-1)
		if i == 0 {
			r.Parents = nil
		}
		r.Preimage = []byte(strings.Repeat("p", 2000+i%500)) // some go to bigger values
		if err := s.Put(ctx, r); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		if i > 0 {
			_ = s.Touch(ctx, []string{cachetest.Key(i - 1)}, time.Now())
		}
		_ = s.StatPut(ctx, cache.StatKey{Path: strconv.Itoa(i), Size: int64(i)}, "sha256:x")
		fmt.Fprintln(w, i)
		w.Flush()
	}
}

func helper(t *testing.T, role, dir string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	return helperEnv(t, role, dir)
}

func helperEnv(t *testing.T, role, dir string, env ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "WRENN_CACHE_HELPER="+role, "WRENN_CACHE_DIR="+dir), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, bufio.NewScanner(out)
}

func TestSecondProcessGetsLockedError(t *testing.T) {
	dir := t.TempDir()
	cmd, out := helper(t, "holder", dir)
	if !out.Scan() || out.Text() != "ready" {
		t.Fatalf("holder did not start: %q", out.Text())
	}
	_, err := cache.Open(dir, cache.Options{})
	var le *cache.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Open of a held directory: err = %v, want *LockedError", err)
	}
	if le.PID != cmd.Process.Pid {
		t.Errorf("holder pid = %d, want %d", le.PID, cmd.Process.Pid)
	}
	want := fmt.Sprintf("cache directory %s is in use by process %d (%s -test.run=^$): wait for it to finish, retry with --lock-wait, or use another --cache-dir", dir, cmd.Process.Pid, os.Args[0])
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}
	if strings.Contains(err.Error(), "badger") || strings.Contains(err.Error(), "\n") {
		t.Errorf("message leaks Badger internals: %q", err)
	}

	// With --lock-wait the open succeeds once the holder is gone.
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
	}()
	s, err := cache.Open(dir, cache.Options{LockWait: 20 * time.Second})
	if err != nil {
		t.Fatalf("Open with LockWait after the holder died: %v", err)
	}
	s.Close()
}

// TestKillDuringWrites kills a writing process with SIGKILL at several
// points and checks that the store opens, every acknowledged Put survived,
// and every record and index entry is readable and consistent.
func TestKillDuringWrites(t *testing.T) {
	dir := t.TempDir()
	acked := -1
	for round, after := range []int{1, 150, 700, 40} {
		cmd, out := helper(t, "writer", dir)
		n := -1
		for out.Scan() {
			line := out.Text()
			v, err := strconv.Atoi(line)
			if err != nil {
				t.Fatalf("round %d: writer said %q", round, line)
			}
			n = v
			if n-acked >= after {
				break
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for out.Scan() { // drain what the writer printed before it died
		}
		_ = cmd.Wait()
		if n < 0 {
			t.Fatalf("round %d: writer wrote nothing", round)
		}
		acked = n
		checkConsistent(t, dir, acked)
	}
}

func checkConsistent(t *testing.T, dir string, acked int) {
	t.Helper()
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		t.Fatalf("store does not open after kill -9: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	seen := map[string]cache.Record{}
	err = s.Records(ctx, true, func(r cache.Record) error {
		seen[r.Key] = r
		return nil
	})
	if err != nil {
		t.Fatalf("reading records after kill -9: %v", err)
	}
	for i := 0; i <= acked; i++ {
		r, ok := seen[cachetest.Key(i)]
		if !ok {
			t.Fatalf("acknowledged record %d lost (acked up to %d, %d present)", i, acked, len(seen))
		}
		if len(r.Preimage) < 2000 {
			t.Fatalf("record %d: preimage of %d bytes", i, len(r.Preimage))
		}
	}
	for k, r := range seen {
		for _, p := range r.Parents {
			kids, err := s.Children(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, c := range kids {
				found = found || c == k
			}
			if !found {
				t.Fatalf("children index lacks %s under %s", k, p)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		t.Fatalf("no MANIFEST: %v", err)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := cachetest.Rec(3, 2)
	if err := s.Put(ctx, want); err != nil {
		t.Fatal(err)
	}
	_ = s.PutRef(ctx, cache.Ref{Name: "app", Key: want.Key})
	_ = s.StatPut(ctx, cache.StatKey{Path: "a"}, "sha256:1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = cache.Open(dir, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(ctx, want.Key)
	if err != nil || got.Text != want.Text || string(got.Preimage) != string(want.Preimage) {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
	if ref, err := s.GetRef(ctx, "app"); err != nil || ref.Key != want.Key {
		t.Errorf("ref after reopen: %+v %v", ref, err)
	}
	if d, ok, _ := s.StatGet(ctx, cache.StatKey{Path: "a"}); !ok || d != "sha256:1" {
		t.Errorf("stat after reopen: %q %v", d, ok)
	}
}

func TestPutManyLargeBatch(t *testing.T) {
	s, err := cache.Open(t.TempDir(), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	recs := make([]cache.Record, 5000)
	for i := range recs {
		recs[i] = cachetest.Rec(i, i-1)
		if i == 0 {
			recs[i].Parents = nil
		}
		recs[i].Preimage = []byte(strings.Repeat("x", 1500)) // forces several transactions
	}
	if err := s.PutMany(ctx, recs); err != nil {
		t.Fatal(err)
	}
	n := 0
	_ = s.Records(ctx, true, func(r cache.Record) error {
		if len(r.Preimage) != 1500 {
			t.Fatalf("%s: preimage %d bytes", r.Key, len(r.Preimage))
		}
		n++
		return nil
	})
	if n != 5000 {
		t.Errorf("%d records stored", n)
	}
	if kids, _ := s.Children(ctx, cachetest.Key(4998)); len(kids) != 1 || kids[0] != cachetest.Key(4999) {
		t.Errorf("children index: %v", kids)
	}
}

// TestSnapshotWhileAnotherProcessWrites opens read-only snapshots of a
// store that a live process keeps writing to: each snapshot opens, holds
// at least every record acknowledged before it was taken, reads them all,
// refuses writes, and leaves nothing behind.
func TestSnapshotWhileAnotherProcessWrites(t *testing.T) {
	dir := t.TempDir()
	_, out := helper(t, "writer", dir)
	acked := -1
	for round := 0; round < 5; round++ {
		for out.Scan() {
			n, err := strconv.Atoi(out.Text())
			if err != nil {
				t.Fatalf("writer said %q", out.Text())
			}
			if n >= acked+200 {
				acked = n
				break
			}
		}
		if _, err := cache.Open(dir, cache.Options{}); err == nil {
			t.Fatal("the writer does not hold the directory")
		}
		s, err := cache.OpenSnapshot(dir, cache.Options{})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		n := 0
		err = s.Records(context.Background(), true, func(r cache.Record) error {
			if len(r.Preimage) < 2000 {
				return fmt.Errorf("%s: preimage of %d bytes", r.Key, len(r.Preimage))
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if n < acked+1 {
			t.Errorf("round %d: snapshot has %d records, %d were acknowledged before it", round, n, acked+1)
		}
		if _, err := cache.List(context.Background(), s, cache.Filter{}, time.Now()); err != nil {
			t.Errorf("round %d: List on a snapshot: %v", round, err)
		}
		if err := s.Put(context.Background(), cachetest.Rec(999999, -1)); !errors.Is(err, cache.ErrReadOnly) {
			t.Errorf("Put on a snapshot: %v", err)
		}
		s.Close()
	}
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), "wrenn-cache-snapshot-*"))
	for _, l := range left {
		t.Logf("left behind (maybe by a parallel test run): %s", l)
	}
}
