package agent_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/agent/agenttest"
	pb "wrenn.dev/wrenn/proto/hostagent/v1"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in       string
		network  string
		url      string
		loopback bool
		err      string
	}{
		{in: "127.0.0.1:7411", network: "tcp", url: "http://127.0.0.1:7411", loopback: true},
		{in: "localhost:80", network: "tcp", url: "http://localhost:80", loopback: true},
		{in: "[::1]:7411", network: "tcp", url: "http://[::1]:7411", loopback: true},
		{in: "0.0.0.0:7411", network: "tcp", url: "http://0.0.0.0:7411", loopback: false},
		{in: "10.1.2.3:7411", network: "tcp", url: "http://10.1.2.3:7411", loopback: false},
		{in: "unix:///run/wrenn/agent.sock", network: "unix", url: "unix:///run/wrenn/agent.sock", loopback: true},
		{in: ":7411", err: `address ":7411" has no host: use 127.0.0.1:7411 for loopback only, or 0.0.0.0:7411 to listen on every interface`},
		{in: "unix://", err: `address "unix://" has no socket path (want unix:///path/to/socket)`},
		{in: "http://127.0.0.1:1", err: `address "http://127.0.0.1:1": want host:port or unix:///path`},
		{in: "7411", err: `address "7411": want host:port or unix:///path`},
	}
	for _, tc := range tests {
		a, err := agent.ParseAddress(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseAddress(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || a.Network != tc.network || a.URL() != tc.url || a.Loopback() != tc.loopback || a.String() != tc.in {
			t.Errorf("ParseAddress(%q) = %+v (url %s, loopback %v), %v", tc.in, a, a.URL(), a.Loopback(), err)
		}
	}
}

func shortDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/tmp", "wrenn-lt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestListenUnixSocket(t *testing.T) {
	dir := shortDir(t)
	sock := filepath.Join(dir, "sub", "agent.sock")
	a := agent.Address{Network: "unix", Addr: sock}

	// A stale socket (nobody listening) left by a crash is replaced.
	os.MkdirAll(filepath.Dir(sock), 0o755)
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("the stale socket should still exist: %v", err)
	}
	ln, err := agent.Listen(a, agent.ListenOptions{})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer ln.Close()
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	// A live socket is not taken over.
	if _, err := agent.Listen(a, agent.ListenOptions{}); err == nil || !strings.Contains(err.Error(), "another process is already listening on it") {
		t.Fatalf("Listen over a live socket: %v", err)
	}
	// A regular file is never removed.
	file := filepath.Join(dir, "not-a-socket")
	os.WriteFile(file, []byte("keep"), 0o644)
	if _, err := agent.Listen(agent.Address{Network: "unix", Addr: file}, agent.ListenOptions{}); err == nil || !strings.Contains(err.Error(), "is not a socket: refusing to replace it") {
		t.Fatalf("Listen over a file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Fatal("the file was touched")
	}
	// SocketMode 0660 lets a group in.
	ln2, err := agent.Listen(agent.Address{Network: "unix", Addr: filepath.Join(dir, "g.sock")}, agent.ListenOptions{SocketMode: 0o660})
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	if fi, _ := os.Stat(filepath.Join(dir, "g.sock")); fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %v, want 0660", fi.Mode().Perm())
	}
}

func TestServeEmbedded(t *testing.T) {
	fake := agenttest.NewFake()
	url, stop, err := agent.ServeEmbedded(context.Background(), fake, agent.WithAgentID("embedded"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "unix:///") {
		t.Fatalf("url %q", url)
	}
	sock := strings.TrimPrefix(url, "unix://")
	if fi, err := os.Stat(filepath.Dir(sock)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	c, err := agent.Dial(url, "")
	if err != nil {
		t.Fatal(err)
	}
	create(t, c, "sb1")
	c.Close()
	stop()
	if _, err := os.Stat(filepath.Dir(sock)); !os.IsNotExist(err) {
		t.Fatalf("stop left the socket directory: %v", err)
	}
	if fake.Closed() {
		t.Fatal("stop closed the backend, which the caller owns")
	}
	c2, _ := agent.Dial(url, "")
	if _, err := c2.ListSandboxes(ctx(t), req(&pb.ListSandboxesRequest{})); err == nil {
		t.Fatal("the server still answers after stop")
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Serve(c, ln, agent.NewServer(agenttest.NewFake())) }()
	cl, _ := agent.Dial("http://"+ln.Addr().String(), "")
	if _, err := cl.ListSandboxes(ctx(t), req(&pb.ListSandboxesRequest{})); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestLoadOrCreateID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "agent-id")
	id, err := agent.LoadOrCreateID(path)
	if err != nil || len(id) != 32 {
		t.Fatalf("id %q, %v", id, err)
	}
	again, err := agent.LoadOrCreateID(path)
	if err != nil || again != id {
		t.Fatalf("second load %q, %v; want %q", again, err, id)
	}
	os.WriteFile(path, []byte("../evil\n"), 0o644)
	if _, err := agent.LoadOrCreateID(path); err == nil || !strings.Contains(err.Error(), "not an agent id") {
		t.Fatalf("corrupt id file: %v", err)
	}
}

func TestDialRejectsBadURL(t *testing.T) {
	for _, u := range []string{"127.0.0.1:7411", "ftp://x", "unix://"} {
		if _, err := agent.Dial(u, ""); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
		}
	}
}
