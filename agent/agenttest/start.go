package agenttest

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"wrenn.dev/wrenn/agent"
)

// Server is an agent started by Start.
type Server struct {
	URL    string
	Token  string
	Client *agent.Client
	// Addr is where it listens.
	Addr agent.Address
}

// Config chooses how Start serves.
type Config struct {
	// Network is "unix" (default) or "tcp" (a loopback port).
	Network string
	Token   string
	// Options are passed to agent.NewServer (WithToken is added for Token).
	Options []agent.Option
	// Dial options for the returned client.
	Dial []agent.DialOption
}

// Start serves b over a real socket until the test ends, then stops the
// server (the test still owns b and closes it).
func Start(t testing.TB, b agent.Backend, cfg Config) *Server {
	t.Helper()
	var a agent.Address
	switch cfg.Network {
	case "", "unix":
		// t.TempDir paths can exceed the 108-byte socket path limit.
		dir, err := shortTempDir(t)
		if err != nil {
			t.Fatal(err)
		}
		a = agent.Address{Network: "unix", Addr: filepath.Join(dir, "agent.sock")}
	case "tcp":
		a = agent.Address{Network: "tcp", Addr: "127.0.0.1:0"}
	default:
		t.Fatalf("agenttest.Start: unknown network %q", cfg.Network)
	}
	ln, err := agent.Listen(a, agent.ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Network == "tcp" {
		a.Addr = ln.Addr().(*net.TCPAddr).String()
	}
	opts := append([]agent.Option{agent.WithToken(cfg.Token)}, cfg.Options...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- agent.Serve(ctx, ln, agent.NewServer(b, opts...)) }()
	c, err := agent.Dial(a.URL(), cfg.Token, cfg.Dial...)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent server: %v", err)
		}
	})
	return &Server{URL: a.URL(), Token: cfg.Token, Client: c, Addr: a}
}
