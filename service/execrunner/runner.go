package execrunner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/executor"
	lpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
	"wrenn.dev/wrenn/service"
)

// DownFor is how long an agent that stopped answering is left out of
// placement before it is tried again.
const DownFor = 30 * time.Second

// Host is one agent builds can run on.
type Host struct {
	// Name identifies the agent in build records (its URL).
	Name  string
	Agent executor.Agent
}

// Runner runs builds with executor.Build on the least loaded host.
type Runner struct {
	hosts []*Host
	store executor.Store

	mu      sync.Mutex
	running map[string]int       // host name -> builds running
	down    map[string]time.Time // host name -> until
}

var (
	_ service.Runner           = (*Runner)(nil)
	_ service.TemplateResolver = (*Runner)(nil)
)

// New returns a runner over hosts sharing the layer cache store.
func New(store executor.Store, hosts ...*Host) (*Runner, error) {
	if len(hosts) == 0 {
		return nil, errors.New("no agent to run builds on")
	}
	return &Runner{hosts: hosts, store: store, running: map[string]int{}, down: map[string]time.Time{}}, nil
}

// free is the agent's available memory, 0 when it does not say.
func free(ctx context.Context, h *Host) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := h.Agent.Info(ctx, connect.NewRequest(&lpb.InfoRequest{}))
	if connect.CodeOf(err) == connect.CodeUnimplemented {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return resp.Msg.MemoryAvailableBytes, nil
}

// pick chooses the host for a build: up, fewest running builds, then most
// free memory. A host whose Info fails is marked down.
func (r *Runner) pick(ctx context.Context) (*Host, error) {
	type cand struct {
		h    *Host
		n    int
		free int64
	}
	var best *cand
	now := time.Now()
	for _, h := range r.hosts {
		r.mu.Lock()
		until, isDown := r.down[h.Name]
		n := r.running[h.Name]
		r.mu.Unlock()
		if isDown && now.Before(until) {
			continue
		}
		f, err := free(ctx, h)
		if err != nil {
			r.markDown(h.Name)
			continue
		}
		c := &cand{h, n, f}
		if best == nil || c.n < best.n || (c.n == best.n && c.free > best.free) {
			best = c
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no agent is answering (%d configured)", len(r.hosts))
	}
	return best.h, nil
}

func (r *Runner) markDown(name string) {
	r.mu.Lock()
	r.down[name] = time.Now().Add(DownFor)
	r.mu.Unlock()
}

// Run places and runs one build.
func (r *Runner) Run(ctx context.Context, job *service.Job, ev service.Events) (*service.Result, error) {
	h, err := r.pick(ctx)
	if err != nil {
		return nil, &service.HostDownError{Host: "any", Err: err}
	}
	r.mu.Lock()
	r.running[h.Name]++
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running[h.Name]--
		r.mu.Unlock()
	}()
	ev.Placed(h.Name, "")
	fw := &forwarder{ev: ev, host: h.Name, streamed: map[int]bool{}}
	b := job.Build
	res, err := executor.Build(ctx, executor.Request{
		Agent:    h.Agent,
		Store:    r.store,
		File:     job.File,
		Options:  job.Options,
		Name:     b.Name,
		VCPUs:    int(b.Vcpus),
		MemoryMB: int(b.MemoryMb),
		BuildID:  b.Id,
		Events:   fw.forward,
	})
	if err != nil {
		if ctx.Err() == nil && (unreachable(err) || r.gone(ctx, h)) {
			r.markDown(h.Name)
			return nil, &service.HostDownError{Host: h.Name, Err: err}
		}
		var logs *service.Result
		if res != nil {
			logs = &service.Result{}
			for _, l := range res.Logs {
				logs.Logs = append(logs.Logs, logEntry(l))
			}
		}
		return logs, err
	}
	out := &service.Result{
		Host:         h.Name,
		SandboxID:    fw.sandbox,
		DefaultUser:  res.DefaultUser,
		DefaultEnv:   res.DefaultEnv,
		TemplateID:   res.Template,
		TemplateType: res.Type,
		SizeBytes:    res.SizeBytes,
		CachedSteps:  res.Cached,
	}
	for _, l := range res.Logs {
		out.Logs = append(out.Logs, logEntry(l))
	}
	return out, nil
}

// gone asks the agent after a failed build whether it still answers: an
// agent killed mid-step breaks the step's stream with whatever error the
// transport saw (an incomplete envelope, a reset connection), which only
// a fresh call tells apart from a step that failed.
func (r *Runner) gone(ctx context.Context, h *Host) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := h.Agent.Info(ctx, connect.NewRequest(&lpb.InfoRequest{}))
	return err != nil && connect.CodeOf(err) != connect.CodeUnimplemented
}

// unreachable reports an agent that did not answer (as opposed to one that
// answered with a failure).
func unreachable(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded:
		return true
	}
	return false
}

func logEntry(l executor.LogEntry) *buildv1.LogEntry {
	return &buildv1.LogEntry{
		Step: int32(l.Step), Phase: l.Phase, Cmd: l.Cmd, Stdout: l.Stdout, Stderr: l.Stderr,
		Exit: int32(l.Exit), Ok: l.Ok, ElapsedMs: l.ElapsedMs, Cached: l.Cached,
	}
}

// forwarder maps executor events to service events. Calls are sequential
// (executor.Request.Events).
type forwarder struct {
	ev      service.Events
	host    string
	sandbox string
	// streamed marks steps whose output arrived as "output" chunks; for
	// the others (an agent without ExecStream) the step's last line is
	// sent at its end.
	streamed map[int]bool
}

func (f *forwarder) forward(e executor.Event) {
	switch e.Type {
	case "sandbox":
		f.sandbox = e.Sandbox
		f.ev.Placed(f.host, e.Sandbox)
	case "output":
		f.streamed[e.Step] = true
		stream := e.Stream
		if stream == "" {
			stream = "stdout"
		}
		f.ev.Output(e.Step, stream, []byte(e.Data))
	case "step-start":
		f.ev.StepStart(e.Step, e.Phase, e.Cmd, false)
	case "step-end":
		if e.Status == "cached" {
			f.ev.StepStart(e.Step, e.Phase, e.Cmd, true)
		}
		if e.Output != "" && !f.streamed[e.Step] && e.Status != "cached" {
			f.ev.Output(e.Step, "stdout", []byte(e.Output+"\n"))
		}
		f.ev.StepEnd(&buildv1.LogEntry{
			Step: int32(e.Step), Phase: e.Phase, Cmd: e.Cmd, Exit: int32(e.Exit),
			Ok: e.Status != "failed", ElapsedMs: e.Elapsed.Milliseconds(), Cached: e.Status == "cached",
		})
	}
}

// ResolveTemplate asks the answering agents for a base template, for
// CreateBuild's check: the first that has it gives its digest. When every
// agent asked says it has no such template the build is rejected (the
// compiler reports it at the FROM line); when no agent could say (down,
// or hostagent-only agents without GetTemplate) the name is accepted and
// the build left to the workers.
func (r *Runner) ResolveTemplate(ctx context.Context, name string) (digest.Digest, error) {
	asked, missing := 0, 0
	now := time.Now()
	for _, h := range r.hosts {
		r.mu.Lock()
		until, isDown := r.down[h.Name]
		r.mu.Unlock()
		if isDown && now.Before(until) {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := h.Agent.GetTemplate(cctx, connect.NewRequest(&lpb.GetTemplateRequest{Name: name}))
		cancel()
		switch {
		case err == nil:
			if d, err := digest.Parse(resp.Msg.Template.GetDigest()); err == nil {
				return d, nil
			}
			return digest.FromString("template:" + resp.Msg.Template.GetId()), nil
		case connect.CodeOf(err) == connect.CodeNotFound:
			asked++
			missing++
		}
	}
	if asked > 0 && missing == asked && asked == len(r.hosts) {
		if asked == 1 {
			return "", errors.New("the agent has no such template (bootstrap or import it with `wrenn base`)")
		}
		return "", fmt.Errorf("none of the %d agents has it (bootstrap or import it with `wrenn base`)", asked)
	}
	return digest.FromString("unresolved:" + name), nil
}
