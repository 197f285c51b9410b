package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// ShutdownGrace is how long Serve waits for running calls (a long
// ExecStream, say) to finish after its context ends before it cuts them off.
const ShutdownGrace = 10 * time.Second

// NewHTTPServer returns an http.Server for h that speaks HTTP/1.1 and h2c
// (HTTP/2 without TLS, which gRPC and connect streaming need).
func NewHTTPServer(h http.Handler) *http.Server {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:           h,
		Protocols:         &p,
		ReadHeaderTimeout: 30 * time.Second,
	}
}

// Serve serves h on ln until ctx ends, then stops accepting, lets running
// calls finish for up to ShutdownGrace, and cuts off the rest. It returns
// nil after such a shutdown. It does not close the backend: the caller does
// that afterwards, once no call can reach it.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := NewHTTPServer(h)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ServeEmbedded serves b on a private unix socket (in a fresh 0700 temporary
// directory) and returns its unix:// URL, so an in-process agent is driven by
// the same connect client as a remote one. stop shuts the server down and
// removes the directory; it does not close b, which stays the caller's.
func ServeEmbedded(ctx context.Context, b Backend, opts ...Option) (url string, stop func(), err error) {
	dir, err := embeddedDir()
	if err != nil {
		return "", nil, err
	}
	a := Address{Network: "unix", Addr: filepath.Join(dir, "agent.sock")}
	ln, err := Listen(a, ListenOptions{})
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = Serve(sctx, ln, NewServer(b, opts...))
	}()
	stop = func() {
		cancel()
		<-done
		os.RemoveAll(dir)
	}
	return a.URL(), stop, nil
}

// embeddedDir makes the socket's directory. A unix socket path must fit in
// 108 bytes, so a long $TMPDIR falls back to /tmp.
func embeddedDir() (string, error) {
	const maxSocketDir = 100 - len("/agent.sock")
	base := os.TempDir()
	if len(base)+len("/wrenn-agent-0123456789") > maxSocketDir {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "wrenn-agent-")
	if err != nil {
		return "", fmt.Errorf("embedded agent: %w", err)
	}
	return dir, nil
}
