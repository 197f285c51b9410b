package cli_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/agent/local"
	pb "wrenn.dev/wrenn/proto/hostagent/v1"
	agentpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
)

// agentProcess is a `wrenn agent serve` subprocess.
type agentProcess struct {
	cmd    *exec.Cmd
	url    string
	stdout *bufio.Reader
	stderr *strings.Builder
}

// startAgent runs `wrenn agent serve` (the test binary re-executed as
// wrenn, see TestMain) and waits for the line saying where it listens.
func startAgent(t *testing.T, args ...string) *agentProcess {
	t.Helper()
	return startAgentEnv(t, nil, args...)
}

func startAgentEnv(t *testing.T, env []string, args ...string) *agentProcess {
	t.Helper()
	cmd := exec.Command("wrenn", append([]string{"agent", "serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &agentProcess{cmd: cmd, stdout: bufio.NewReader(stdout), stderr: new(strings.Builder)}
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
	lines := make(chan string, 1)
	go func() {
		line, _ := p.stdout.ReadString('\n')
		lines <- line
	}()
	select {
	case line := <-lines:
		url, ok := strings.CutPrefix(strings.TrimSpace(line), "wrenn agent: listening on ")
		if !ok {
			t.Fatalf("agent said %q; stderr:\n%s", line, p.stderr)
		}
		p.url = url
	case <-time.After(60 * time.Second):
		t.Fatalf("the agent did not start; stderr:\n%s", p.stderr)
	}
	return p
}

// leftovers lists mounts, runc containers and cgroups of the backend under
// root.
func leftovers(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], root+"/") {
			out = append(out, "mount "+f[4])
		}
	}
	ids, err := exec.Command("runc", "--root", filepath.Join(root, "runc"), "list", "-q").Output()
	if err != nil {
		t.Fatalf("runc list: %v", err)
	}
	for _, id := range strings.Fields(string(ids)) {
		out = append(out, "container "+id)
	}
	h := sha256.Sum256([]byte(root))
	cg := "wrenn-" + hex.EncodeToString(h[:4])
	for _, pattern := range []string{"/sys/fs/cgroup/" + cg + "/*", "/sys/fs/cgroup/*/" + cg + "/*"} {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.IsDir() {
				out = append(out, "cgroup "+m)
			}
		}
	}
	return out
}

// TestAgentServeCrashRecovery kills `wrenn agent serve` with SIGKILL while
// a sandbox runs a command, restarts it on the same root and socket, and
// checks that the restart removed every mount, container and cgroup; then a
// SIGTERM shuts the new agent down cleanly, destroying its sandboxes.
func TestAgentServeCrashRecovery(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (runc, overlayfs); CI runs it as root")
	}
	dir, err := os.MkdirTemp("/tmp", "wrenn-crash-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	root := filepath.Join(dir, "root")
	b, err := local.New(local.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.BootstrapBase(context.Background(), "minimal", local.FromBusybox, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	listen := "unix://" + filepath.Join(dir, "agent.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	first := startAgent(t, "--listen", listen, "--root", root, "--token", "tok")
	if first.url != listen {
		t.Fatalf("agent listens on %s, want %s", first.url, listen)
	}
	c, err := agent.Dial(first.url, "tok")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSandbox(ctx, connect.NewRequest(&pb.CreateSandboxRequest{SandboxId: "live", Template: "minimal"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, connect.NewRequest(&pb.ExecRequest{SandboxId: "live", Cmd: "/bin/sh", Args: []string{"-c", "echo data > /file; sleep 3000 > /dev/null 2>&1 &"}})); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if l := leftovers(t, root); len(l) == 0 {
		t.Fatal("a live sandbox shows no mount or container: the test would prove nothing")
	}
	first.cmd.Process.Signal(syscall.SIGKILL)
	first.cmd.Wait()

	second := startAgent(t, "--listen", listen, "--root", root, "--token", "tok")
	if l := leftovers(t, root); len(l) > 0 {
		t.Fatalf("after the restart, left from the crashed run: %v", l)
	}
	c2, err := agent.Dial(second.url, "tok")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	list, err := c2.ListSandboxes(ctx, connect.NewRequest(&pb.ListSandboxesRequest{}))
	if err != nil || len(list.Msg.Sandboxes) != 0 {
		t.Fatalf("sandboxes after restart: %v, %v", list.Msg, err)
	}
	// The agent works after recovery, and SIGTERM destroys its sandboxes.
	if _, err := c2.CreateSandbox(ctx, connect.NewRequest(&pb.CreateSandboxRequest{SandboxId: "again", Template: "minimal"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Exec(ctx, connect.NewRequest(&pb.ExecRequest{SandboxId: "again", Cmd: "/bin/sh", Args: []string{"-c", "sleep 3000 > /dev/null 2>&1 &"}})); err != nil {
		t.Fatal(err)
	}
	c2.Close()
	second.cmd.Process.Signal(syscall.SIGTERM)
	rest, _ := io.ReadAll(second.stdout)
	if err := second.cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v\nstderr:\n%s", err, second.stderr)
	}
	if !strings.Contains(string(rest), "wrenn agent: stopped; sandboxes destroyed") {
		t.Fatalf("stdout after SIGTERM: %q", rest)
	}
	if l := leftovers(t, root); len(l) > 0 {
		t.Fatalf("after SIGTERM, left: %v", l)
	}
	if _, err := os.Stat(strings.TrimPrefix(listen, "unix://")); !os.IsNotExist(err) {
		t.Fatalf("the socket outlived the agent: %v", err)
	}
}

// TestAgentServeTCP serves on a loopback port chosen by the kernel, with the
// token from the environment, reports the identity stored under the root,
// and exits 0 on SIGINT.
func TestAgentServeTCP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (runc, overlayfs); CI runs it as root")
	}
	root := filepath.Join(t.TempDir(), "root")
	p := startAgentEnv(t, []string{"WRENN_AGENT_TOKEN=env-token"}, "--listen", "127.0.0.1:0", "--root", root)
	if !strings.HasPrefix(p.url, "http://127.0.0.1:") || strings.HasSuffix(p.url, ":0") {
		t.Fatalf("agent listens on %q", p.url)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := agent.Dial(p.url, "env-token")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.Info(ctx, connect.NewRequest(&agentpb.InfoRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	id, err := os.ReadFile(filepath.Join(root, "agent-id"))
	if err != nil || info.Msg.AgentId != strings.TrimSpace(string(id)) || info.Msg.Version == "" {
		t.Fatalf("Info = %v; agent-id file %q, %v", info.Msg, id, err)
	}
	bad, _ := agent.Dial(p.url, "wrong")
	defer bad.Close()
	if _, err := bad.Info(ctx, connect.NewRequest(&agentpb.InfoRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("wrong token: %v", err)
	}
	c.Close()
	bad.Close()
	p.cmd.Process.Signal(os.Interrupt)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("after SIGINT: %v\nstderr:\n%s", err, p.stderr)
	}
}
