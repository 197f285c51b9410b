package cli

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
	"wrenn.dev/wrenn/service"
)

// startAgent runs `wrenn agent serve` on root and returns its URL.
func startAgent(t *testing.T, bin, root string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "agent", "serve", "--listen", "127.0.0.1:0", "--root", root)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("wrenn agent serve did not start: %v", err)
	}
	return cmd, regexp.MustCompile(`http://\S+`).FindString(line)
}

// TestServeLiveOutputAndAgentFailover runs `wrenn serve` over two real
// `wrenn agent serve` processes (runc, overlayfs), over loopback:
//   - a FROM that neither agent has is rejected at create, at its position;
//   - `wrenn builds logs -f` prints a running step's output while it runs,
//     and the record names the build's agent and sandbox;
//   - the agent running the build is killed (SIGKILL) mid-step: the build
//     is re-queued and finishes on the other agent, nothing lost.
func TestServeLiveOutputAndAgentFailover(t *testing.T) {
	bin, rootA, cacheDir := e2eSetup(t)
	rootB := filepath.Join(filepath.Dir(rootA), "rootB")
	if out, err := exec.Command(bin, "base", "bootstrap", "--root", rootB, "minimal", "--from", "busybox").CombinedOutput(); err != nil {
		t.Fatalf("bootstrap B: %v\n%s", err, out)
	}
	agentA, urlA := startAgent(t, bin, rootA)
	agentB, urlB := startAgent(t, bin, rootB)
	srv := startServe(t, bin, "--agent", urlA, "--agent", urlB, "--cache-dir", cacheDir, "--workers", "1")
	c := service.NewClient(srv.url, "")
	ctx := context.Background()

	_, err := c.CreateBuild(ctx, connect.NewRequest(&buildv1.CreateBuildRequest{Name: "nobase", Wrennfile: "FROM nosuch\nRUN true\n"}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument ||
		!strings.Contains(err.Error(), "Wrennfile:1:6: error: base template \"nosuch\": none of the 2 agents has it") {
		t.Errorf("unknown FROM: %v", err)
	}

	id := e2eCreate(t, c, "live", "RUN echo first-line; sleep 3; echo second-line\n")
	logs := exec.Command(bin, "builds", "logs", "-f", "--progress", "plain", "--server", srv.url, id)
	stdout, _ := logs.StdoutPipe()
	logs.Stderr = logs.Stdout
	if err := logs.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var seen []string
	waitLine := func(want string) {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("builds logs -f ended before %q:\n%s", want, strings.Join(seen, "\n"))
				}
				seen = append(seen, l)
				if l == want {
					return
				}
			case <-timeout:
				t.Fatalf("no %q from builds logs -f:\n%s", want, strings.Join(seen, "\n"))
			}
		}
	}
	waitLine("#1 | first-line")
	// The line arrived while the step runs (it sleeps 3 s before the next).
	b := e2eWait(t, c, id, service.StatusRunning, service.StatusSuccess)
	if b.Status != service.StatusRunning || b.CurrentStep != 1 {
		t.Fatalf("after the first line the build is %s at step %d", b.Status, b.CurrentStep)
	}
	if b.SandboxId == "" || (b.Host != urlA && b.Host != urlB) {
		t.Fatalf("running record: sandbox %q host %q", b.SandboxId, b.Host)
	}
	victim, victimRoot, survivor := agentA, rootA, urlB
	if b.Host == urlB {
		victim, victimRoot, survivor = agentB, rootB, urlA
	}
	victim.Process.Signal(syscall.SIGKILL)
	victim.Wait()
	// The killed agent's sandbox is cleaned when an agent starts on its
	// root again (at the end).
	t.Cleanup(func() {
		cmd, _ := startAgent(t, bin, victimRoot)
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})

	// The follower sees the build wait again, run again on the other
	// agent from step 1, and succeed.
	waitLine("#1 | second-line")
	if err := logs.Wait(); err != nil {
		t.Errorf("builds logs -f: %v\n%s", err, strings.Join(seen, "\n"))
	}
	for l := range lines {
		seen = append(seen, l)
	}
	if got := strings.Join(seen, "\n"); !strings.Contains(got, "build "+id+": success") || !strings.Contains(got, "build waits in the queue again (re-queued: agent "+b.Host+" stopped answering") {
		t.Errorf("follower output:\n%s", got)
	}
	b = e2eWait(t, c, id, service.StatusSuccess, service.StatusFailed)
	if b.Status != service.StatusSuccess || b.Host != survivor || b.Attempts != 2 || b.SandboxId == "" {
		t.Errorf("after fail-over: status %s host %q (want %q) attempts %d sandbox %q error %q",
			b.Status, b.Host, survivor, b.Attempts, b.SandboxId, b.Error)
	}
	if len(b.Logs) != 1 || b.Logs[0].Stdout != "first-line\nsecond-line\n" {
		t.Errorf("stored log: %v", b.Logs)
	}
}
