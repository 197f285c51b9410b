package lsp_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wrenn.dev/wrenn/cmd/wrenn/cli"
)

// execEnv makes the re-executed test binary run cli.Main instead of the
// tests, so the conversation test talks to the real `wrenn lsp` over real
// pipes without building a separate binary.
const execEnv = "WRENN_LSP_TEST_EXEC"

func TestMain(m *testing.M) {
	if os.Getenv(execEnv) == "1" {
		os.Exit(cli.Main())
	}
	os.Exit(m.Run())
}

// message is any JSON-RPC message the server sends.
type message struct {
	ID     *json.RawMessage `json:"id,omitempty"`
	Method string           `json:"method,omitempty"`
	Params json.RawMessage  `json:"params,omitempty"`
	Result json.RawMessage  `json:"result,omitempty"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// client speaks LSP to a `wrenn lsp` subprocess with hand-written
// Content-Length framing: the test shares no code with the server's
// JSON-RPC library, so a framing bug on either side shows.
type client struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	msgs   chan message
	stderr *strings.Builder
	nextID int

	mu      sync.Mutex
	pending []message // notifications read while waiting for a response
}

func startServer(t *testing.T, args ...string) *client {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"lsp"}, args...)...)
	cmd.Env = append(os.Environ(), execEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, cmd: cmd, stdin: stdin, msgs: make(chan message, 64), stderr: &strings.Builder{}}
	cmd.Stderr = &lockedWriter{w: c.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go c.readLoop(bufio.NewReader(stdout))
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return c
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (c *client) readLoop(r *bufio.Reader) {
	defer close(c.msgs)
	for {
		length := -1
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				length, _ = strconv.Atoi(v)
			}
		}
		if length < 0 {
			c.msgs <- message{Method: "test/bad-frame"}
			return
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		var m message
		if err := json.Unmarshal(body, &m); err != nil {
			m = message{Method: "test/bad-json", Params: body}
		}
		c.msgs <- m
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c.stdin, "Content-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		c.t.Fatalf("write to server: %v", err)
	}
}

// call sends a request and decodes its result into result (if not nil).
func (c *client) call(method string, params, result any) {
	c.t.Helper()
	if err := c.tryCall(method, params, result); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

func (c *client) tryCall(method string, params, result any) error {
	c.t.Helper()
	c.nextID++
	id := c.nextID
	c.send(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	for {
		m := c.next(10 * time.Second)
		if m.ID == nil || m.Method != "" {
			c.mu.Lock()
			c.pending = append(c.pending, m)
			c.mu.Unlock()
			continue
		}
		if string(*m.ID) != strconv.Itoa(id) {
			c.t.Fatalf("%s: response for id %s, want %d", method, *m.ID, id)
		}
		if m.Error != nil {
			return fmt.Errorf("error %d: %s", m.Error.Code, m.Error.Message)
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				c.t.Fatalf("%s: decode result %s: %v", method, m.Result, err)
			}
		}
		return nil
	}
}

func (c *client) notify(method string, params any) {
	c.t.Helper()
	c.send(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

// next returns the next message from the server.
func (c *client) next(timeout time.Duration) message {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.t.Fatalf("server closed its output; stderr:\n%s", c.stderr)
		}
		if strings.HasPrefix(m.Method, "test/") {
			c.t.Fatalf("server sent a malformed message: %s %s", m.Method, m.Params)
		}
		return m
	case <-time.After(timeout):
		c.t.Fatalf("no message from the server within %v; stderr:\n%s", timeout, c.stderr)
	}
	panic("unreachable")
}

// waitNotification returns the params of the next notification named
// method, skipping others.
func (c *client) waitNotification(method string) json.RawMessage {
	c.t.Helper()
	c.mu.Lock()
	for i, m := range c.pending {
		if m.Method == method {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			c.mu.Unlock()
			return m.Params
		}
	}
	c.pending = nil
	c.mu.Unlock()
	for {
		m := c.next(10 * time.Second)
		if m.Method == method {
			return m.Params
		}
	}
}

// exit sends shutdown and exit and returns the server's exit code.
func (c *client) exit() int {
	c.t.Helper()
	c.call("shutdown", nil, nil)
	c.notify("exit", nil)
	c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.t.Fatal("server did not exit after exit")
	}
	return c.cmd.ProcessState.ExitCode()
}
