package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"wrenn.dev/wrenn/agent"
)

// sandbox is a live sandbox: an overlay mount at merged/, one-shot
// containers of the Execs in flight and, once a START ran, a long-lived
// runc container over it.
type sandbox struct {
	id   string
	key  string // short random name for directories, runc and cgroups
	dir  string
	spec agent.SandboxSpec
	info agent.SandboxInfo
	env  []string

	// mu: Exec, WriteFile, ReadFile hold it shared; commit, snapshot,
	// flatten and destroy hold it exclusively.
	mu    sync.RWMutex
	on    on           // what the upper directory sits on
	chain []lowerEntry // resolved lowers of on, top first

	runMu     sync.Mutex // orders container start/stop with destroy
	running   bool       // the long-lived container runs
	initFd    int        // pidfd of its init (-1: none)
	destroyed bool
	dying     chan struct{} // closed at destroy: one-shot Execs kill themselves

	startMu sync.Mutex
	starts  []startSpec // Exec command lines that ran nohup (START)

	timer *time.Timer
}

func (sb *sandbox) upper() string  { return filepath.Join(sb.dir, "upper") }
func (sb *sandbox) work() string   { return filepath.Join(sb.dir, "work") }
func (sb *sandbox) merged() string { return filepath.Join(sb.dir, "merged") }
func (sb *sandbox) bundle() string { return filepath.Join(sb.dir, "bundle") }
func (sb *sandbox) ctrID() string  { return "wrenn-" + sb.key }

func (sb *sandbox) hostname() string {
	h := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, sb.id)
	if len(h) > 63 {
		h = h[:63]
	}
	return h
}

// defaultPath is the PATH processes start with.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// sandboxEnv is the environment every process of the sandbox starts with.
func sandboxEnv(spec agent.SandboxSpec, id, template string) []string {
	env := map[string]string{
		"PATH":              strings.TrimPrefix(defaultPath, "PATH="),
		"HOME":              "/root",
		"WRENN_SANDBOX_ID":  id,
		"WRENN_TEMPLATE_ID": template,
	}
	for k, v := range spec.DefaultEnv {
		if k != "" && !strings.ContainsAny(k, "=\x00") && !strings.Contains(v, "\x00") {
			env[k] = v
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// CreateSandbox mounts the template's or layer's chain with a fresh upper
// directory; no container runs until an Exec needs one. A template that
// recorded START commands gets them run again (in the long-lived container).
func (b *Backend) CreateSandbox(ctx context.Context, spec agent.SandboxSpec) (agent.SandboxInfo, error) {
	var (
		o        on
		starts   []startSpec
		template string
	)
	if spec.Layer != "" {
		m, err := b.readLayer(spec.Layer)
		if err != nil {
			return agent.SandboxInfo{}, err
		}
		o.layer = m.ID
	} else {
		t, err := b.findTemplate(agent.TemplateRef{Name: spec.Template, TeamID: spec.TeamID, TemplateID: spec.TemplateID})
		if err != nil {
			return agent.SandboxInfo{}, err
		}
		o.template, starts, template = t.ID, t.Start, t.ID
	}
	id := spec.ID
	if id == "" {
		id = "sb-" + randomHex(8)
	}
	if !validID(id) {
		return agent.SandboxInfo{}, fmt.Errorf("sandbox id %q: use letters, digits and - _ . : : %w", id, errInvalid)
	}
	// inherited START commands stay recorded for a snapshot of this one
	sb := &sandbox{id: id, key: randomHex(6), spec: spec, on: o, starts: append([]startSpec(nil), starts...), initFd: -1, dying: make(chan struct{})}
	sb.dir = filepath.Join(b.sandboxesDir(), sb.key)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return agent.SandboxInfo{}, errors.New("local backend is closed")
	}
	if _, dup := b.sandboxes[id]; dup {
		b.mu.Unlock()
		return agent.SandboxInfo{}, fmt.Errorf("sandbox %q already exists: %w", id, errInvalid)
	}
	b.sandboxes[id] = sb
	sb.mu.Lock() // nobody uses it before it is ready
	b.mu.Unlock()
	fail := func(err error) (agent.SandboxInfo, error) {
		b.teardown(sb)
		sb.mu.Unlock()
		b.mu.Lock()
		delete(b.sandboxes, id)
		b.mu.Unlock()
		return agent.SandboxInfo{}, err
	}
	b.storeMu.Lock() // the chain must not be deleted under us
	chain, err := b.chain(o)
	if err == nil {
		sb.chain = chain
	}
	b.storeMu.Unlock()
	if err != nil {
		return fail(err)
	}
	if template == "" {
		template = baseTemplate(chain)
	}
	sb.env = sandboxEnv(spec, id, template)
	sb.info = agent.SandboxInfo{
		ID: id, Status: "running", HostIP: "127.0.0.1", Template: template, Layer: o.layer,
		Created: time.Now().UTC(), Metadata: map[string]string{"backend": "local", "key": sb.key},
	}
	for _, d := range []string{sb.upper(), sb.work(), sb.merged()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail(err)
		}
	}
	if err := b.mountOverlay(sb.chain, sb.upper(), sb.work(), sb.merged()); err != nil {
		return fail(err)
	}
	if err := b.writeBundle(sb); err != nil {
		return fail(err)
	}
	sb.mu.Unlock()
	for _, s := range starts {
		sb.mu.RLock()
		code, err := b.exec(ctx, sb, agent.ExecSpec{Cmd: s.Cmd, Args: s.Args, Timeout: 10 * time.Second}, nil, nil, nil)
		sb.mu.RUnlock()
		if err == nil && code != 0 {
			err = fmt.Errorf("exit code %d", code)
		}
		if err != nil {
			_ = b.DestroySandbox(context.WithoutCancel(ctx), id)
			return agent.SandboxInfo{}, fmt.Errorf("sandbox %s: restarting START command %q: %w", id, s.Cmd+" "+strings.Join(s.Args, " "), err)
		}
	}
	if spec.Timeout > 0 {
		sb.timer = time.AfterFunc(spec.Timeout, func() {
			b.log.Info("sandbox timed out", "sandbox", id, "timeout", spec.Timeout)
			_ = b.DestroySandbox(context.Background(), id)
		})
	}
	return sb.info, nil
}

// ensureRunning starts the long-lived container unless it runs (it starts
// at the first START, and again at the first START after a commit).
func (b *Backend) ensureRunning(sb *sandbox) error {
	sb.runMu.Lock()
	defer sb.runMu.Unlock()
	if sb.destroyed {
		return fmt.Errorf("sandbox %q: %w", sb.id, errNotFound)
	}
	if sb.running {
		return nil
	}
	fd, err := b.startContainer(sb)
	if err != nil {
		return err
	}
	sb.running, sb.initFd = true, fd
	return nil
}

// containerRunning reports whether the long-lived container runs.
func (sb *sandbox) containerRunning() bool {
	sb.runMu.Lock()
	defer sb.runMu.Unlock()
	return sb.running
}

// stopContainer kills the long-lived container, if it runs, and every
// process in it.
func (b *Backend) stopContainer(sb *sandbox) error {
	sb.runMu.Lock()
	defer sb.runMu.Unlock()
	if !sb.running {
		return nil
	}
	sb.running = false
	fd := sb.initFd
	sb.initFd = -1
	return b.stopContainerInit(sb.ctrID(), fd)
}

// markDestroyed flags the sandbox as going away and tells its one-shot
// Execs to end.
func (sb *sandbox) markDestroyed() {
	sb.runMu.Lock()
	defer sb.runMu.Unlock()
	if !sb.destroyed {
		sb.destroyed = true
		close(sb.dying)
	}
}

// gone reports whether the sandbox was destroyed (after a caller looked it
// up but before it got sb.mu).
func (sb *sandbox) gone() bool {
	sb.runMu.Lock()
	defer sb.runMu.Unlock()
	return sb.destroyed
}

// shared returns the live sandbox id with sb.mu held shared.
func (b *Backend) shared(id string) (*sandbox, error) {
	sb, err := b.get(id)
	if err != nil {
		return nil, err
	}
	sb.mu.RLock()
	if sb.gone() {
		sb.mu.RUnlock()
		return nil, fmt.Errorf("sandbox %q: %w", id, errNotFound)
	}
	return sb, nil
}

// exclusive returns the live sandbox id with sb.mu held exclusively.
func (b *Backend) exclusive(id string) (*sandbox, error) {
	sb, err := b.get(id)
	if err != nil {
		return nil, err
	}
	sb.mu.Lock()
	if sb.gone() {
		sb.mu.Unlock()
		return nil, fmt.Errorf("sandbox %q: %w", id, errNotFound)
	}
	return sb, nil
}

// get returns the live sandbox id.
func (b *Backend) get(id string) (*sandbox, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sb, ok := b.sandboxes[id]
	if !ok {
		return nil, fmt.Errorf("sandbox %q: %w", id, errNotFound)
	}
	return sb, nil
}

// DestroySandbox kills the sandbox's processes, unmounts it and removes its
// directory. Unknown ids are fine.
func (b *Backend) DestroySandbox(ctx context.Context, id string) error {
	b.mu.Lock()
	sb, ok := b.sandboxes[id]
	if ok {
		delete(b.sandboxes, id)
	}
	b.mu.Unlock()
	if !ok {
		return nil
	}
	// kill first: running Execs return, releasing sb.mu
	sb.markDestroyed()
	if sb.timer != nil {
		sb.timer.Stop()
	}
	_ = b.stopContainer(sb)
	sb.mu.Lock()
	defer sb.mu.Unlock()
	err := b.teardown(sb)
	b.storeMu.Lock()
	b.gcTemplatesLocked()
	b.storeMu.Unlock()
	return err
}

// teardown removes everything the sandbox holds on the host.
func (b *Backend) teardown(sb *sandbox) error {
	sb.markDestroyed()
	var errs []error
	if err := b.stopContainer(sb); err != nil {
		errs = append(errs, err)
	}
	if err := unmount(sb.merged()); err != nil {
		errs = append(errs, err)
	}
	// the long-lived container's cgroup, and any a one-shot runc left
	for _, d := range b.cgroupDirs() {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if e.IsDir() && (e.Name() == sb.key || strings.HasPrefix(e.Name(), sb.key+"-")) {
				if err := removeCgroup(filepath.Join(d, e.Name())); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if err := os.RemoveAll(sb.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ListSandboxes lists the live sandboxes, oldest first.
func (b *Backend) ListSandboxes(ctx context.Context) ([]agent.SandboxInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]agent.SandboxInfo, 0, len(b.sandboxes))
	for _, sb := range b.sandboxes {
		out = append(out, sb.info)
	}
	slices.SortFunc(out, func(a, c agent.SandboxInfo) int {
		if d := a.Created.Compare(c.Created); d != 0 {
			return d
		}
		return strings.Compare(a.ID, c.ID)
	})
	return out, nil
}

// inUse reports whether a live sandbox's chain holds kind/id.
func (b *Backend) inUse(kind, id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, sb := range b.sandboxes {
		for _, e := range sb.chain {
			if e.kind == kind && e.id == id {
				return true
			}
		}
	}
	return false
}
