package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// Recover makes the store and queue agree after a start: builds that were
// running when the server died go back to pending and into the queue (they
// resume from their cached layers), and pending builds missing from the
// queue (taken by a worker that died before starting them) are re-queued.
// With a leased queue (Redis, several controllers) running builds may be
// another live controller's: they are left to the reaper, which takes back
// only those whose lease expired.
func (s *Service) Recover(ctx context.Context) error {
	running, err := s.cfg.Store.ByStatus(ctx, StatusRunning)
	if err != nil {
		return err
	}
	pending, err := s.cfg.Store.ByStatus(ctx, StatusPending)
	if err != nil {
		return err
	}
	queued, err := s.cfg.Queue.Queued(ctx)
	if err != nil {
		return fmt.Errorf("cannot read the queue: %v", err)
	}
	inQueue := map[string]bool{}
	for _, id := range queued {
		inQueue[id] = true
	}
	if _, leased := s.cfg.Queue.(LeasedQueue); leased {
		// Other controllers may be running these: the reaper takes back
		// those whose lease expired.
		running = nil
	}
	for _, id := range running {
		if _, err := s.cfg.Store.Update(ctx, id, func(b *buildv1.Build) error {
			requeue(b) // its sandbox ended with the server
			return nil
		}); err != nil {
			return err
		}
		s.cfg.Logf("build %s was running when the server stopped: re-queued", id)
		if err := s.cfg.Queue.Push(ctx, id); err != nil {
			return err
		}
	}
	for _, id := range pending {
		if inQueue[id] {
			continue
		}
		s.cfg.Logf("build %s was pending but not queued: re-queued", id)
		if err := s.cfg.Queue.Push(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// Start runs the workers until ctx ends; Wait waits for them.
func (s *Service) Start(ctx context.Context) {
	if lq, ok := s.cfg.Queue.(LeasedQueue); ok {
		lq.OnLeaseLost(func(id string) {
			s.mu.Lock()
			cancel := s.running[id]
			s.mu.Unlock()
			if cancel != nil {
				s.cfg.Logf("build %s: lease lost (taken back as dead): stopping it here", id)
				cancel(errLeaseLost)
			}
		})
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			s.reaper(ctx, lq)
		}()
		go func() {
			defer s.wg.Done()
			s.remoteCancels(ctx, min(time.Second, lq.LeaseTTL()/3))
		}()
	}
	if s.cfg.Retention > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.pruner(ctx)
		}()
	}
	for i := 0; i < s.cfg.Workers; i++ {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.worker(ctx)
		}()
	}
}

// Wait blocks until every worker has returned.
func (s *Service) Wait() { s.wg.Wait() }

func (s *Service) worker(ctx context.Context) {
	for {
		id, err := s.cfg.Queue.Pop(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, errQueueClosed) {
				return
			}
			s.cfg.Logf("queue: %v", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		s.process(ctx, id)
	}
}

// process runs one build from the queue. A build that is no longer
// pending (cancelled while queued) is skipped.
func (s *Service) process(ctx context.Context, id string) {
	bctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Registered before the record says running, so a Cancel that sees
	// "running" always finds the cancel func.
	s.mu.Lock()
	s.running[id] = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, id)
		s.mu.Unlock()
	}()
	skip := false
	b, err := s.cfg.Store.Update(ctx, id, func(b *buildv1.Build) error {
		if b.Status != StatusPending {
			skip = true
			return errSkip
		}
		b.Status = StatusRunning
		b.Controller = s.cfg.ControllerID
		b.StartedAt = timestamppb.Now()
		b.Attempts++
		b.Logs, b.CurrentStep, b.CachedSteps, b.Error = nil, 0, 0, ""
		return nil
	})
	if skip || errors.Is(err, errNotFound) {
		s.ack(ctx, id)
		return
	}
	if err != nil {
		// The lease (if any) expires and a reaper retries later.
		s.cfg.Logf("build %s: cannot start: %v", id, err)
		return
	}
	s.hub.start(id)
	s.hub.publish(id, statusEvent(b))

	res, runErr := s.run(bctx, b)
	final, err := s.cfg.Store.Update(context.WithoutCancel(ctx), id, func(b *buildv1.Build) error {
		cause := context.Cause(bctx)
		switch {
		case errors.Is(cause, errUserCancel) || b.Status == StatusCancelled:
			// Never overwritten with failed.
			b.Status = StatusCancelled
		case errors.Is(cause, errLeaseLost):
			// Another controller took the build back as dead: its result
			// is that controller's to write now.
			return errSkip
		case ctx.Err() != nil:
			// Server shutdown: stays running; Recover (Badger) or a
			// reaper once the lease expires (Redis) re-queues it.
			return errSkip
		case runErr == nil:
			b.Status = StatusSuccess
			applyResult(b, res)
		default:
			var down *HostDownError
			if errors.As(runErr, &down) {
				s.cfg.Logf("build %s: %v: re-queued", id, runErr)
				requeue(b)
				return nil
			}
			b.Status = StatusFailed
			b.Error = runErr.Error()
			if res != nil && res.Logs != nil {
				b.Logs = res.Logs
			}
		}
		if b.CompletedAt == nil {
			b.CompletedAt = timestamppb.Now()
		}
		return nil
	})
	if errors.Is(err, errSkip) {
		s.hub.finish(id, nil)
		return
	}
	if err != nil {
		s.cfg.Logf("build %s: cannot record the result: %v", id, err)
		s.hub.finish(id, nil)
		return
	}
	if final.Status == StatusPending {
		// Watchers stay: they see the build wait again, then its next run.
		ev := statusEvent(final)
		ev.GetStatus().Error = "re-queued: " + runErr.Error()
		s.hub.requeue(id, ev)
		if err := s.cfg.Queue.Push(context.WithoutCancel(ctx), id); err != nil {
			s.cfg.Logf("build %s: cannot re-queue: %v", id, err)
		}
		s.ack(ctx, id)
		return
	}
	s.hub.finish(id, statusEvent(final))
	s.ack(ctx, id)
}

// ack ends a leased queue's hold on id.
func (s *Service) ack(ctx context.Context, id string) {
	if lq, ok := s.cfg.Queue.(LeasedQueue); ok {
		if err := lq.Ack(context.WithoutCancel(ctx), id); err != nil {
			s.cfg.Logf("build %s: ack: %v", id, err)
		}
	}
}

// requeue puts a running build's record back to pending for another
// agent or controller: where it ran no longer applies.
func requeue(b *buildv1.Build) {
	b.Status = StatusPending
	b.Host, b.SandboxId = "", ""
}

// errLeaseLost is the cancel cause of a build whose lease another
// controller took back.
var errLeaseLost = errors.New("lease lost")

// reaper puts back the builds of dead controllers (leased queues only),
// every half lease TTL: the record goes back to pending first, then the id
// into the queue, so the worker that takes it finds it pending.
func (s *Service) reaper(ctx context.Context, lq LeasedQueue) {
	ticking(ctx.Done(), lq.LeaseTTL()/2, func() {
		ids, err := lq.Expired(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.cfg.Logf("reaper: %v", err)
			}
			return
		}
		for _, id := range ids {
			_, err := s.cfg.Store.Update(ctx, id, func(b *buildv1.Build) error {
				if b.Status == StatusRunning {
					requeue(b)
				}
				return nil
			})
			if err != nil && !errors.Is(err, errNotFound) {
				s.cfg.Logf("reaper: build %s: %v", id, err)
				continue
			}
			if ok, err := lq.Requeue(ctx, id); err != nil {
				s.cfg.Logf("reaper: build %s: %v", id, err)
			} else if ok {
				s.cfg.Logf("build %s: its controller stopped answering: re-queued", id)
			}
		}
	})
}

// ticking calls fn every interval until done is closed.
func ticking(done <-chan struct{}, every time.Duration, fn func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			fn()
		}
	}
}

// remoteCancels ends local runs of builds cancelled through another
// controller (leased queues only): the shared record says cancelled.
func (s *Service) remoteCancels(ctx context.Context, every time.Duration) {
	ticking(ctx.Done(), every, func() {
		s.mu.Lock()
		ids := make([]string, 0, len(s.running))
		for id := range s.running {
			ids = append(ids, id)
		}
		s.mu.Unlock()
		for _, id := range ids {
			b, err := s.cfg.Store.Get(ctx, id)
			if err != nil || b.Status != StatusCancelled {
				continue
			}
			s.mu.Lock()
			cancel := s.running[id]
			s.mu.Unlock()
			if cancel != nil {
				cancel(errUserCancel)
			}
		}
	})
}

var errSkip = errors.New("skip")

func applyResult(b *buildv1.Build, r *Result) {
	if r == nil {
		return
	}
	if r.SandboxID != "" {
		b.SandboxId = r.SandboxID
	}
	if r.Host != "" {
		b.Host = r.Host
	}
	b.DefaultUser = r.DefaultUser
	b.DefaultEnv = maps.Clone(r.DefaultEnv)
	b.TemplateId, b.TemplateType = r.TemplateID, r.TemplateType
	b.SizeBytes = r.SizeBytes
	if r.CachedSteps > 0 {
		b.CachedSteps = int32(r.CachedSteps)
	}
	if r.Logs != nil {
		b.Logs = r.Logs
		b.CachedSteps = 0
		for _, l := range r.Logs {
			if l.Cached {
				b.CachedSteps++
			}
		}
	}
	b.CurrentStep = b.TotalSteps
}

// run rebuilds the job from the record (re-validating: the recipe was
// checked at create, but the compiler may have changed across a restart)
// and calls the runner.
func (s *Service) run(ctx context.Context, b *buildv1.Build) (*Result, error) {
	archive, err := s.cfg.Store.Archive(ctx, b.Id)
	if err != nil {
		return nil, fmt.Errorf("cannot read the stored archive: %v", err)
	}
	c, err := check(ctx, b, archive, s.lim, nil)
	if err != nil {
		return nil, err
	}
	job := &Job{Build: proto.CloneOf(b), File: c.file, Context: c.ctx, Options: c.opts}
	return s.cfg.Runner.Run(ctx, job, &events{s: s, id: b.Id})
}

// events records a build's progress in its record and fans it out.
type events struct {
	s  *Service
	id string
}

func (e *events) update(fn func(*buildv1.Build)) {
	if _, err := e.s.cfg.Store.Update(context.Background(), e.id, func(b *buildv1.Build) error { fn(b); return nil }); err != nil {
		e.s.cfg.Logf("build %s: cannot update the record: %v", e.id, err)
	}
}

func (e *events) Placed(host, sandboxID string) {
	e.update(func(b *buildv1.Build) { b.Host, b.SandboxId = host, sandboxID })
}

func (e *events) StepStart(step int, phase, cmd string, cached bool) {
	e.update(func(b *buildv1.Build) { b.CurrentStep = int32(step) })
	e.s.hub.publish(e.id, &buildv1.WatchBuildResponse{Event: &buildv1.WatchBuildResponse_StepStart{
		StepStart: &buildv1.StepStart{Step: int32(step), Phase: phase, Cmd: cmd, Cached: cached}}})
}

func (e *events) Output(step int, stream string, data []byte) {
	e.s.hub.publish(e.id, &buildv1.WatchBuildResponse{Event: &buildv1.WatchBuildResponse_Output{
		Output: &buildv1.Output{Step: int32(step), Stream: stream, Data: append([]byte(nil), data...)}}})
}

func (e *events) StepEnd(entry *buildv1.LogEntry) {
	entry = proto.CloneOf(entry)
	e.update(func(b *buildv1.Build) {
		b.Logs = append(b.Logs, entry)
		if entry.Cached {
			b.CachedSteps++
		}
	})
	e.s.hub.publish(e.id, &buildv1.WatchBuildResponse{Event: &buildv1.WatchBuildResponse_StepEnd{
		StepEnd: &buildv1.StepEnd{Entry: entry}}})
}
