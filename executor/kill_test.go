package executor_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/executor"
	"wrenn.dev/wrenn/lang"
)

// child is the test binary re-run as a build process (for the kill -9
// test): it builds WRENN_EXECUTOR_CHILD (a project dir) on the agent at
// WRENN_EXECUTOR_URL and prints each step it starts.
func child() int {
	dir := os.Getenv("WRENN_EXECUTOR_CHILD")
	c, err := agent.Dial(os.Getenv("WRENN_EXECUTOR_URL"), "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s, err := cache.Open(filepath.Join(dir, "cache"), cache.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	src, _ := os.ReadFile(filepath.Join(dir, "Wrennfile"))
	f, _ := lang.Parse("Wrennfile", src)
	_, err = executor.Build(context.Background(), executor.Request{Agent: c, Store: s, File: f, Name: "killed",
		Options: compiler.Options{SkipPrePost: true},
		Events: func(e executor.Event) {
			if e.Type == "step-start" {
				fmt.Printf("start %d\n", e.Step)
			}
		}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestKillDuringStepResumes kills a real build process with SIGKILL while
// its third step runs; the next build resumes after the last recorded
// layer, and the store opens fine.
func TestKillDuringStepResumes(t *testing.T) {
	url, stop, err := agent.ServeEmbedded(context.Background(), env.backend)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	dir := t.TempDir()
	src := "FROM minimal\nRUN echo a > /a\nRUN echo b > /b\nRUN sleep 30\nRUN echo d > /d\n"
	if err := os.WriteFile(filepath.Join(dir, "Wrennfile"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "WRENN_EXECUTOR_CHILD="+dir, "WRENN_EXECUTOR_URL="+url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "start 3" {
			break
		}
	}
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The killed build's sandbox is an orphan on the agent (a restart of
	// the agent removes such sandboxes); remove it so later tests see a
	// clean agent.
	t.Cleanup(func() {
		sbs, _ := env.backend.ListSandboxes(context.Background())
		for _, sb := range sbs {
			_ = env.backend.DestroySandbox(context.Background(), sb.ID)
		}
	})

	// Resume without the slow step: steps 1 and 2 come from the cache.
	if err := os.WriteFile(filepath.Join(dir, "Wrennfile"), []byte(strings.Replace(src, "sleep 30", "true", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := cache.Open(filepath.Join(dir, "cache"), cache.Options{})
	if err != nil {
		t.Fatalf("store after kill -9: %v", err)
	}
	defer s.Close()
	f, _ := lang.Parse("Wrennfile", []byte(strings.Replace(src, "sleep 30", "true", 1)))
	res, err := executor.Build(context.Background(), executor.Request{Agent: env.client, Store: s, File: f, Name: "killed",
		Options: compiler.Options{SkipPrePost: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ran(res); fmt.Sprint(got) != "[3 4]" {
		t.Fatalf("after kill -9 ran %v, want [3 4]", got)
	}
}
