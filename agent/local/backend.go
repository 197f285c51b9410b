package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"wrenn.dev/wrenn/agent"
)

// Network modes for Options.Network.
const (
	NetworkHost = "host" // share the host's network namespace (default)
	NetworkNone = "none" // a new, empty network namespace
)

// DefaultTemplate is the template a sandbox gets when the spec names none.
const DefaultTemplate = "minimal"

// Options configures New.
type Options struct {
	Root    string // e.g. /var/lib/wrenn; created if missing
	Network string // NetworkHost ("") or NetworkNone
	// Runtime is the OCI runtime that runs the sandboxes' containers:
	// "runc" or "crun" (found on PATH) or a path to either; "" is runc.
	// New runs `Runtime --version` to check which it is.
	Runtime string
	// BusyboxPath is the static busybox the sandbox reaper runs and the
	// busybox base is made from ("" : /bin/busybox).
	BusyboxPath string
	Logger      *slog.Logger // nil: discard
}

// Backend is the local overlayfs + runc (or crun) agent.Backend. It owns
// Root exclusively (a flock) for its lifetime.
type Backend struct {
	root    string
	network string
	rt      ociRuntime
	busybox string
	log     *slog.Logger
	lock    *os.File
	agentID string
	cgName  string // cgroup parent name, unique per root

	mu        sync.Mutex
	sandboxes map[string]*sandbox // by sandbox id
	closed    bool

	// storeMu orders changes to templates/ and layers/ with the checks
	// that something is still in use.
	storeMu sync.Mutex

	sync   *syncer // background writeback of committed layers
	bootID string  // this boot's id, in unsynced markers

	meta metaCache // decoded meta.json files (metacache.go)

	digests digestJobs // digests of deferred commits (deferred.go)

	// noVolatile: the kernel refused overlay's volatile option once
	noVolatile atomic.Bool

	// forceFsconfig makes every mount use the fsconfig lowerdir+ path
	// (tests exercise both mount paths).
	forceFsconfig bool
}

var _ agent.Backend = (*Backend)(nil)

// New opens (creating if needed) the backend under opts.Root, removes what a
// previous run that crashed left behind, and returns it. Only one Backend may
// use a root at a time.
func New(opts Options) (*Backend, error) {
	if opts.Root == "" {
		return nil, errors.New("local backend: root directory is required")
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(root, ",:") {
		return nil, fmt.Errorf("local backend: root %s: overlayfs options cannot hold ',' or ':' in paths", root)
	}
	switch opts.Network {
	case "":
		opts.Network = NetworkHost
	case NetworkHost, NetworkNone:
	default:
		return nil, fmt.Errorf("local backend: network %q: want %q or %q", opts.Network, NetworkHost, NetworkNone)
	}
	// The runtime's --version (a process start: 4-7 ms for runc) runs
	// while the root is recovered, when its file name says what it is.
	rt, err := lookRuntime(opts.Runtime)
	if err != nil {
		return nil, err
	}
	type probed struct {
		rt  ociRuntime
		err error
	}
	done := make(chan probed, 1)
	go func() {
		r, err := probeRuntime(opts.Runtime, rt.path)
		done <- probed{r, err}
	}()
	probe := sync.OnceValue(func() probed { return <-done })
	if rt.name == "" {
		p := probe()
		if p.err != nil {
			return nil, p.err
		}
		rt = p.rt
	}
	if opts.BusyboxPath == "" {
		opts.BusyboxPath = "/bin/busybox"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Backend{
		root:      root,
		network:   opts.Network,
		rt:        rt,
		busybox:   opts.BusyboxPath,
		log:       opts.Logger,
		cgName:    "wrenn-" + shortHash(root),
		sandboxes: map[string]*sandbox{},
	}
	for _, d := range []string{root, b.templatesDir(), b.layersDir(), b.linksDir(), b.sandboxesDir(), b.runtimeRoot(), b.tmpDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("local backend: %w", err)
		}
	}
	if err := b.acquireLock(); err != nil {
		return nil, err
	}
	b.bootID = bootID()
	b.sync = newSyncer(root)
	if err := b.recover(); err != nil {
		b.sync.halt()
		b.lock.Close()
		return nil, fmt.Errorf("local backend: cleaning up %s: %w", root, err)
	}
	id, err := agent.LoadOrCreateID(filepath.Join(root, "agent-id"))
	if err != nil {
		b.sync.halt()
		b.lock.Close()
		return nil, fmt.Errorf("local backend: %w", err)
	}
	b.agentID = id
	p := probe()
	if p.err == nil && p.rt.name != rt.name {
		p.err = fmt.Errorf("local backend: OCI runtime %s: `%s --version` says %q, not %s", opts.Runtime, rt.path, p.rt.version, rt.name)
	}
	if p.err != nil {
		b.sync.halt()
		b.lock.Close()
		return nil, p.err
	}
	b.rt = p.rt
	rt = p.rt
	b.log.Info("local backend", "root", root, "runtime", rt.String())
	if rt.hideUnified {
		b.log.Info("crun refuses this hybrid cgroup host as it is (its cgroup v2 hierarchy holds controllers): each `crun run` gets a private mount namespace without /sys/fs/cgroup/unified")
	}
	return b, nil
}

// acquireLock takes the root's flock, naming the holder when it fails.
func (b *Backend) acquireLock() error {
	path := filepath.Join(b.root, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("local backend: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		who := "another wrenn agent"
		if pid := strings.TrimSpace(string(holder)); pid != "" {
			who += " (pid " + pid + ")"
		}
		return fmt.Errorf("local backend: root %s is in use by %s; stop it or use another root", b.root, who)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	b.lock = f
	return nil
}

// Root is the directory the backend owns.
func (b *Backend) Root() string { return b.root }

// AgentID is the identity stored under Root; the server reports it so that a
// cache can tell a restarted agent is the same one.
func (b *Backend) AgentID() string { return b.agentID }

// Close destroys every sandbox and releases Root.
func (b *Backend) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	ids := make([]string, 0, len(b.sandboxes))
	for id := range b.sandboxes {
		ids = append(ids, id)
	}
	b.mu.Unlock()
	var errs []error
	for _, id := range ids {
		if err := b.DestroySandbox(context.WithoutCancel(ctx), id); err != nil {
			errs = append(errs, err)
		}
	}
	b.removeCgroupParent()
	b.digests.wg.Wait() // every meta.json whole before the last sync
	b.sync.close()
	if b.lock != nil {
		_ = b.lock.Close()
	}
	return errors.Join(errs...)
}
