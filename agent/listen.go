package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultListen is where `wrenn agent serve` listens unless told otherwise:
// loopback only, since the agent runs commands as root.
const DefaultListen = "127.0.0.1:7411"

// Address is a parsed listen or dial address: "host:port" or
// "unix:///path/to/socket".
type Address struct {
	Network string // "tcp" or "unix"
	Addr    string // host:port, or the socket path
}

// ParseAddress parses ADDR as `wrenn agent serve --listen` takes it. A
// host:port must name its host: ":7411" would silently listen on every
// interface.
func ParseAddress(s string) (Address, error) {
	if rest, ok := strings.CutPrefix(s, "unix://"); ok {
		if rest == "" {
			return Address{}, fmt.Errorf("address %q has no socket path (want unix:///path/to/socket)", s)
		}
		return Address{Network: "unix", Addr: rest}, nil
	}
	if strings.Contains(s, "://") {
		return Address{}, fmt.Errorf("address %q: want host:port or unix:///path", s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Address{}, fmt.Errorf("address %q: want host:port or unix:///path", s)
	}
	if host == "" {
		return Address{}, fmt.Errorf("address %q has no host: use 127.0.0.1:%s for loopback only, or 0.0.0.0:%s to listen on every interface", s, port, port)
	}
	return Address{Network: "tcp", Addr: s}, nil
}

// String gives the address back in the form ParseAddress takes.
func (a Address) String() string {
	if a.Network == "unix" {
		return "unix://" + a.Addr
	}
	return a.Addr
}

// URL is what a client dials: http://host:port or unix:///path.
func (a Address) URL() string {
	if a.Network == "unix" {
		return "unix://" + a.Addr
	}
	return "http://" + a.Addr
}

// Loopback reports whether only this host can reach the address: a unix
// socket, localhost, or a loopback IP.
func (a Address) Loopback() bool {
	if a.Network == "unix" {
		return true
	}
	host, _, _ := net.SplitHostPort(a.Addr)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ListenOptions tune Listen.
type ListenOptions struct {
	// SocketMode is a unix socket's permission bits (0: 0600, the owner only).
	SocketMode fs.FileMode
}

// Listen opens the address. For a unix socket it first removes a stale
// socket file a crashed agent left behind, but never a live socket (another
// agent answers on it) or a file that is not a socket.
func Listen(a Address, o ListenOptions) (net.Listener, error) {
	if a.Network != "unix" {
		return net.Listen(a.Network, a.Addr)
	}
	if err := removeStaleSocket(a.Addr); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(a.Addr), 0o755); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", a.Addr)
	if err != nil {
		return nil, err
	}
	mode := o.SocketMode
	if mode == 0 {
		mode = 0o600
	}
	if err := os.Chmod(a.Addr, mode); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket: refusing to replace it", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("%s: another process is already listening on it", path)
	}
	return os.Remove(path)
}
