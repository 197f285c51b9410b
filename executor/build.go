package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/sync/singleflight"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	pb "wrenn.dev/wrenn/proto/hostagent/v1"
	lpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
)

// flights makes two builds of the same outcome in one process run once.
var flights singleflight.Group

// point is where a sandbox can start: a committed layer, or a template
// (a base, or a per-step snapshot on an agent without layers).
type point struct {
	layer    string
	template string
}

// Build compiles req.File against the agent's bases, resumes from the
// deepest step whose layer still exists on the agent, runs the rest and
// stores the template. A failed or cancelled build records nothing
// half-made and destroys its sandbox.
func Build(ctx context.Context, req Request) (*Result, error) {
	started := time.Now()
	facts, err := probeAgent(ctx, req.Agent)
	if err != nil {
		return nil, err
	}
	plan, err := compilePlan(ctx, req.Agent, req.Store, facts, &req)
	if err != nil {
		return nil, err
	}
	name := req.Name
	if name == "" {
		name = "wrenn-" + compiler.ShortKey(plan.FinalKey())
	}
	v, err, _ := flights.Do(facts.id+"\x00"+plan.FinalKey().String()+"\x00"+name, func() (any, error) {
		b := &builder{req: req, facts: facts, plan: plan, name: name, started: started, stageOut: map[int]point{}}
		return b.run(ctx)
	})
	res, _ := v.(*Result)
	if res != nil {
		res.Elapsed = time.Since(started)
	}
	return res, err
}

// Plan compiles req.File as Build would and reports, per step ID, whether
// a build would take it from the cache. It creates no sandbox unless a base
// env is unknown to the cache.
func Plan(ctx context.Context, req Request) (*compiler.Plan, map[int]bool, error) {
	facts, err := probeAgent(ctx, req.Agent)
	if err != nil {
		return nil, nil, err
	}
	plan, err := compilePlan(ctx, req.Agent, req.Store, facts, &req)
	if err != nil {
		return nil, nil, err
	}
	b := &builder{req: req, facts: facts, plan: plan, stageOut: map[int]point{}}
	cached := map[int]bool{}
	for si, st := range plan.Stages {
		n, _, err := b.resumePoint(ctx, si, false)
		if err != nil {
			return nil, nil, err
		}
		for _, id := range st.Steps[:n] {
			cached[id] = true
		}
	}
	return plan, cached, nil
}

type builder struct {
	req      Request
	facts    agentFacts
	plan     *compiler.Plan
	name     string
	started  time.Time
	stageOut map[int]point // stage plan index -> its final point
	logs     []LogEntry
	reused   []string
	ran      int
	cached   int

	// mu guards the fields above (stages run in parallel); emitMu keeps
	// Events calls sequential.
	mu     sync.Mutex
	emitMu sync.Mutex
	// noStream is set once the agent answered ExecStream Unimplemented.
	noStream atomic.Bool
	// noExtract is set once the agent answered ExtractTar Unimplemented.
	noExtract atomic.Bool
	// recording counts keys recorded in the background (recordLater);
	// recordErr (under mu) is what went wrong there.
	recording sync.WaitGroup
	recordErr error
}

func (b *builder) emit(e Event) {
	if b.req.Events != nil {
		b.emitMu.Lock()
		defer b.emitMu.Unlock()
		e.Total = len(b.plan.Steps)
		b.req.Events(e)
	}
}

// logStep appends a log entry and counts it.
func (b *builder) logStep(e LogEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.logs = append(b.logs, e)
	switch {
	case e.Cached:
		b.cached++
	case e.Ok:
		b.ran++
	}
}

func (b *builder) out(si int) (point, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.stageOut[si]
	return p, ok
}

func (b *builder) setOut(si int, p point) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stageOut[si] = p
}

func (b *builder) noCache(s *compiler.Step) bool {
	return b.req.NoCache || s.NoCache || b.req.NoCacheSteps[s.ID]
}

func (b *builder) commits(s *compiler.Step) bool {
	if !s.MakesLayer {
		return false
	}
	if b.req.Layer != nil {
		return b.req.Layer(s)
	}
	return true
}

func (b *builder) run(ctx context.Context) (*Result, error) {
	plan := b.plan
	res := &Result{Plan: plan, Template: b.name, Steps: len(plan.Steps), DefaultUser: plan.Result.DefaultUser, DefaultEnv: plan.Result.DefaultEnv}
	res.Type = "base"
	if plan.Result.Final == compiler.FinalSnapshot {
		res.Type = "snapshot"
	}
	buildID := b.req.BuildID
	if buildID == "" {
		buildID = fmt.Sprintf("build-%d-%d", os.Getpid(), time.Now().UnixNano())
	}
	ttl := b.req.LeaseTTL
	if ttl == 0 {
		ttl = 24 * time.Hour
	}
	keys := append(cache.LayerKeys(plan), plan.FinalKey().String())
	if err := b.req.Store.Hold(ctx, cache.NewLease(buildID, ttl, keys, nil)); err != nil {
		return nil, fmt.Errorf("hold cache lease: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.req.Store.Release(rctx, buildID)
	}()

	if ok := b.finalCached(ctx); ok {
		for _, s := range plan.Steps {
			b.cachedStep(s)
		}
		b.touch(append(b.reused, plan.FinalKey().String()))
		res.NoSandbox = true
		return b.finish(ctx, res, nil)
	}
	err := b.runStages(ctx, res)
	if err == nil {
		b.touch(b.reused)
	}
	return b.finish(ctx, res, err)
}

func (b *builder) touch(keys []string) {
	if len(keys) > 0 {
		_ = b.req.Store.Touch(context.Background(), keys, time.Now())
	}
}

// finish fills the counters and turns err into the result's status: a
// cancelled build is cancelled, never failed.
func (b *builder) finish(ctx context.Context, res *Result, err error) (*Result, error) {
	b.recording.Wait()
	if err == nil {
		b.mu.Lock()
		err = b.recordErr
		b.mu.Unlock()
	}
	sort.SliceStable(b.logs, func(i, j int) bool { return b.logs[i].Step < b.logs[j].Step })
	res.Logs, res.Ran, res.Cached = b.logs, b.ran, b.cached
	res.Status = StatusSuccess
	if err != nil {
		res.Status = StatusFailed
		if ctx.Err() != nil || errors.Is(err, context.Canceled) {
			res.Status = StatusCancelled
			err = fmt.Errorf("build cancelled: %w", context.Canceled)
		}
		return res, err
	}
	if b.req.Name != "" {
		if perr := b.req.Store.PutRef(context.Background(), cache.NewRef(b.plan, b.req.Name, b.name)); perr != nil {
			return res, fmt.Errorf("record ref %q: %w", b.req.Name, perr)
		}
	}
	return res, nil
}

// finalCached reports whether the whole outcome is on the agent already:
// a record for the final key under this agent, naming this template, that
// the agent still has.
func (b *builder) finalCached(ctx context.Context) bool {
	if b.req.NoCache || len(b.req.NoCacheSteps) > 0 {
		return false
	}
	for _, s := range b.plan.Steps {
		if s.NoCache {
			return false
		}
	}
	rec, err := b.req.Store.Get(ctx, b.plan.FinalKey().String())
	if err != nil || rec.Snapshot.Agent != b.facts.id || rec.Snapshot.ID != b.name || !b.facts.layers {
		return false
	}
	_, err = b.req.Agent.GetTemplate(ctx, connect.NewRequest(&lpb.GetTemplateRequest{Name: b.name}))
	return err == nil
}

func (b *builder) cachedStep(s *compiler.Step) {
	b.logStep(LogEntry{Step: s.ID, Phase: string(s.Phase), Cmd: s.Text, Ok: true, Cached: true})
	b.emit(Event{Type: "step-end", Step: s.ID, Phase: string(s.Phase), Cmd: s.Text, Status: "cached"})
}

// resumePoint returns how many of stage si's steps are cached and the
// point after them. Records whose layer is gone from the agent are
// deleted (when drop is true) and not used.
func (b *builder) resumePoint(ctx context.Context, si int, drop bool) (int, point, error) {
	st := b.plan.Stages[si]
	limit := len(st.Steps)
	for i, id := range st.Steps {
		if b.noCache(b.plan.Step(id)) {
			limit = i
			break
		}
	}
	keys := make([]string, 0, limit)
	for _, id := range st.Steps[:limit] {
		keys = append(keys, b.plan.Step(id).Key.String())
	}
	recs, err := b.req.Store.Lookup(ctx, keys)
	if err != nil {
		return 0, point{}, fmt.Errorf("cache lookup: %w", err)
	}
	for i := limit - 1; i >= 0; i-- {
		s := b.plan.Step(st.Steps[i])
		rec, ok := recs[s.Key.String()]
		if !ok || rec.Snapshot.Agent != b.facts.id {
			continue
		}
		if b.exists(ctx, rec.Snapshot) {
			// Steps after the record that make no layer (ENV, START)
			// are cached too: nothing of theirs is on disk.
			n := i + 1
			for n < limit && !b.plan.Step(st.Steps[n]).MakesLayer {
				n++
			}
			return n, pointOf(rec.Snapshot), nil
		}
		if drop {
			_ = b.req.Store.Delete(ctx, s.Key.String())
		}
	}
	return 0, point{}, nil
}

func pointOf(s cache.SnapshotRef) point {
	if s.Kind == cache.KindLayer {
		return point{layer: s.ID}
	}
	return point{template: s.ID}
}

// exists checks with the agent that a recorded snapshot is still there.
// Without LayerService there is no way to ask; the record is trusted and a
// failure to create a sandbox from it re-runs the build from scratch.
func (b *builder) exists(ctx context.Context, s cache.SnapshotRef) bool {
	if !b.facts.layers {
		return true
	}
	var err error
	if s.Kind == cache.KindLayer {
		_, err = b.req.Agent.GetLayer(ctx, connect.NewRequest(&lpb.GetLayerRequest{LayerId: s.ID}))
	} else {
		_, err = b.req.Agent.GetTemplate(ctx, connect.NewRequest(&lpb.GetTemplateRequest{Name: s.ID}))
	}
	return err == nil
}

// createSandbox starts a sandbox from p.
func (b *builder) createSandbox(ctx context.Context, p point) (string, error) {
	if p.layer != "" {
		resp, err := b.req.Agent.CreateSandboxFromLayer(ctx, connect.NewRequest(&lpb.CreateSandboxFromLayerRequest{
			LayerId: p.layer, Vcpus: int32(b.req.VCPUs), MemoryMb: int32(b.req.MemoryMB)}))
		if err != nil {
			return "", fmt.Errorf("create sandbox from layer %s: %w", p.layer, err)
		}
		b.emit(Event{Type: "sandbox", Sandbox: resp.Msg.SandboxId})
		return resp.Msg.SandboxId, nil
	}
	resp, err := b.req.Agent.CreateSandbox(ctx, connect.NewRequest(&pb.CreateSandboxRequest{
		Template: p.template, Vcpus: int32(b.req.VCPUs), MemoryMb: int32(b.req.MemoryMB)}))
	if err != nil {
		return "", fmt.Errorf("create sandbox from template %q: %w", p.template, err)
	}
	b.emit(Event{Type: "sandbox", Sandbox: resp.Msg.SandboxId})
	return resp.Msg.SandboxId, nil
}

func timeoutSec(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	return int32((d + time.Second - 1) / time.Second)
}
