package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
	"wrenn.dev/wrenn/proto/wrenn/build/v1/buildv1connect"
)

// Build statuses, the seed's values.
const (
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusSuccess   = "success"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Finished reports whether status is terminal.
func Finished(status string) bool {
	return status == StatusSuccess || status == StatusFailed || status == StatusCancelled
}

// Config assembles a Service.
type Config struct {
	Store  Records
	Queue  Queue
	Runner Runner
	// Workers is the number of builds run at once; 0 is 1.
	Workers int
	// MaxArchiveBytes bounds an uploaded archive; 0 is 100 MB.
	MaxArchiveBytes int64
	// ArchiveMaxEntries and ArchiveMaxBytes bound an archive's contents
	// (bombs); 0 is the compiler's defaults.
	ArchiveMaxEntries int
	ArchiveMaxBytes   int64
	// HistoryOutputBytes bounds the output of a running build kept for
	// late watchers; 0 is DefaultHistoryOutputBytes.
	HistoryOutputBytes int
	// Retention is how long a finished build's record (and log) is kept;
	// 0 keeps records forever. PruneEvery is how often the pruner runs;
	// 0 is Retention/10, at least a minute and at most an hour.
	Retention  time.Duration
	PruneEvery time.Duration
	// Templates, when set, is asked at create time whether a base template
	// exists on some agent; nil accepts any name.
	Templates TemplateResolver
	// ControllerID names this process in the records it runs; "" is
	// "<hostname>/<pid>".
	ControllerID string
	// Logf logs server-side events; nil is log.Printf.
	Logf func(format string, args ...any)
}

// Service implements wrenn.build.v1.BuildService.
type Service struct {
	cfg Config
	lim limits
	hub *hub

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc

	wg sync.WaitGroup
}

var _ buildv1connect.BuildServiceHandler = (*Service)(nil)

// errUserCancel is the cancel cause of CancelBuild, told apart from a
// server shutdown (which leaves the build to be re-queued at start).
var errUserCancel = errors.New("build cancelled")

// New returns a service; call Recover then Start.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Queue == nil || cfg.Runner == nil {
		return nil, errors.New("service needs a store, a queue and a runner")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	if cfg.ControllerID == "" {
		host, _ := os.Hostname()
		cfg.ControllerID = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	lim := limits{maxArchiveBytes: cfg.MaxArchiveBytes, archiveMaxEntries: cfg.ArchiveMaxEntries, archiveMaxBytes: cfg.ArchiveMaxBytes}
	if lim.maxArchiveBytes <= 0 {
		lim.maxArchiveBytes = DefaultMaxArchiveBytes
	}
	return &Service{cfg: cfg, lim: lim, hub: newHub(cfg.HistoryOutputBytes), running: map[string]context.CancelCauseFunc{}}, nil
}

func newID() string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("bld-%016x%s", time.Now().UnixNano(), hex.EncodeToString(r[:]))
}

// CreateBuild validates and queues a build.
func (s *Service) CreateBuild(ctx context.Context, req *connect.Request[buildv1.CreateBuildRequest]) (*connect.Response[buildv1.CreateBuildResponse], error) {
	m := req.Msg
	b := &buildv1.Build{
		Id:           newID(),
		Name:         m.Name,
		Status:       StatusPending,
		BaseTemplate: m.BaseTemplate,
		Recipe:       m.Recipe,
		Wrennfile:    m.Wrennfile,
		Healthcheck:  m.Healthcheck,
		Vcpus:        m.Vcpus,
		MemoryMb:     m.MemoryMb,
		SkipPrePost:  m.SkipPrePost,
		BuildArgs:    m.BuildArgs,
		HasArchive:   len(m.Archive) > 0,
		CreatedAt:    timestamppb.Now(),
	}
	if b.BaseTemplate == "" {
		b.BaseTemplate = "minimal"
	}
	if b.Vcpus == 0 {
		b.Vcpus = DefaultVCPUs
	}
	if b.MemoryMb == 0 {
		b.MemoryMb = DefaultMemoryMB
	}
	c, err := check(ctx, b, m.Archive, s.lim, s.cfg.Templates)
	if err != nil {
		return nil, err
	}
	b.TotalSteps = int32(c.plan.TotalSteps())
	if bq, ok := s.cfg.Queue.(*BadgerQueue); ok && bq.s == s.cfg.Store {
		err = bq.s.insert(b, m.Archive, func(txn *badger.Txn) error { return bq.pushTxn(txn, b.Id) })
		if err == nil {
			bq.notify()
		}
	} else {
		// Record first: a crash before the push leaves a pending record
		// that Recover re-queues.
		if err = s.cfg.Store.Insert(ctx, b, m.Archive); err == nil {
			err = s.cfg.Queue.Push(ctx, b.Id)
		}
	}
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("cannot queue build: %v", err))
	}
	return connect.NewResponse(&buildv1.CreateBuildResponse{Build: b}), nil
}

func (s *Service) get(ctx context.Context, id string) (*buildv1.Build, error) {
	if id == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("id is required"))
	}
	b, err := s.cfg.Store.Get(ctx, id)
	if errors.Is(err, errNotFound) {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("build %s not found", id))
	}
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	return b, nil
}

// GetBuild returns one record.
func (s *Service) GetBuild(ctx context.Context, req *connect.Request[buildv1.GetBuildRequest]) (*connect.Response[buildv1.GetBuildResponse], error) {
	b, err := s.get(ctx, req.Msg.Id)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&buildv1.GetBuildResponse{Build: b}), nil
}

// ListBuilds returns records newest first, filtered and paged from an
// index: a page costs O(page_size) whatever the number of records. The page
// token is the id of the last build of the previous page.
func (s *Service) ListBuilds(ctx context.Context, req *connect.Request[buildv1.ListBuildsRequest]) (*connect.Response[buildv1.ListBuildsResponse], error) {
	m := req.Msg
	size := int(m.PageSize)
	if size <= 0 {
		size = DefaultPageSize
	}
	if size > MaxPageSize {
		size = MaxPageSize
	}
	builds, next, err := s.cfg.Store.List(ctx, ListQuery{Status: m.Status, Name: m.Name, PageSize: size, After: m.PageToken})
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	for _, b := range builds {
		b.Logs = nil // lists stay small; GetBuild has the logs
	}
	return connect.NewResponse(&buildv1.ListBuildsResponse{Builds: builds, NextPageToken: next}), nil
}

// Page sizes of ListBuilds.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// CancelBuild cancels a pending build (the worker skips it) or a running
// one (its step is aborted and its sandbox destroyed by the runner).
func (s *Service) CancelBuild(ctx context.Context, req *connect.Request[buildv1.CancelBuildRequest]) (*connect.Response[buildv1.CancelBuildResponse], error) {
	if _, err := s.get(ctx, req.Msg.Id); err != nil {
		return nil, err
	}
	var was string
	b, err := s.cfg.Store.Update(ctx, req.Msg.Id, func(b *buildv1.Build) error {
		was = b.Status
		if Finished(b.Status) {
			return connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("build is already %s", b.Status))
		}
		b.Status = StatusCancelled
		b.CompletedAt = timestamppb.Now()
		return nil
	})
	if err != nil {
		var cerr *connect.Error
		if errors.As(err, &cerr) {
			return nil, cerr
		}
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	s.mu.Lock()
	cancel := s.running[b.Id]
	s.mu.Unlock()
	if cancel != nil {
		cancel(errUserCancel)
	}
	if was == StatusPending {
		s.hub.finish(b.Id, statusEvent(b))
	}
	return connect.NewResponse(&buildv1.CancelBuildResponse{Build: b}), nil
}

func statusEvent(b *buildv1.Build) *buildv1.WatchBuildResponse {
	return &buildv1.WatchBuildResponse{Event: &buildv1.WatchBuildResponse_Status{Status: &buildv1.Status{
		Status: b.Status, Error: b.Error, CurrentStep: b.CurrentStep, TotalSteps: b.TotalSteps,
	}}}
}

func (s *Service) isRunning(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[id] != nil
}

// WatchPollInterval is how often a watcher reads the record of a build
// that no worker of this process runs (queued, or run by another
// controller sharing the Redis backend).
var WatchPollInterval = 500 * time.Millisecond

// WatchBuild streams a build's events. A build run by this process is
// watched through the hub: the events of the current run so far (output
// bounded, see DefaultHistoryOutputBytes), then live ones. A finished
// build's stored log is replayed. A build run by another controller is
// followed from its record: step by step (its output chunks stay with the
// controller that runs it), then its final status.
func (s *Service) WatchBuild(ctx context.Context, req *connect.Request[buildv1.WatchBuildRequest], stream *connect.ServerStream[buildv1.WatchBuildResponse]) error {
	id := req.Msg.Id
	if _, err := s.get(ctx, id); err != nil {
		return err
	}
	// Subscribe before reading the record: an event after this point is
	// in the subscription, one before it is in the history or the record.
	history, sb := s.hub.subscribe(id)
	defer s.hub.unsubscribe(id, sb, func() bool { return s.isRunning(id) })
	b, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	if Finished(b.Status) {
		return replay(stream, b.Logs, statusEvent(b))
	}
	w := &watcher{stream: stream, status: b.Status, attempts: b.Attempts}
	if len(history) == 0 {
		// A run's history starts with its status; without one the record
		// says where the build is.
		if err := w.send(statusEvent(b)); err != nil {
			return err
		}
	}
	for _, ev := range history {
		if err := w.send(ev); err != nil {
			return err
		}
	}
	tick := time.NewTicker(WatchPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-sb.ch:
			if done, err := w.fromHub(sb, ev, ok); done || err != nil {
				return err
			}
		case <-tick.C:
			if s.isRunning(id) {
				continue
			}
			// Whatever the hub already has goes first: a build that ran
			// here published everything before leaving s.running.
			for drained := false; !drained; {
				select {
				case ev, ok := <-sb.ch:
					if done, err := w.fromHub(sb, ev, ok); done || err != nil {
						return err
					}
				default:
					drained = true
				}
			}
			b, err := s.get(ctx, id)
			if err != nil {
				return err
			}
			if done, err := w.fromRecord(b); done || err != nil {
				return err
			}
		}
	}
}

// watcher is one WatchBuild stream's position.
type watcher struct {
	stream   *connect.ServerStream[buildv1.WatchBuildResponse]
	lastEnd  int32 // highest step whose end was sent
	status   string
	attempts int32
}

func (w *watcher) send(ev *buildv1.WatchBuildResponse) error {
	if e := ev.GetStepEnd(); e != nil && e.Entry.GetStep() > w.lastEnd {
		w.lastEnd = e.Entry.GetStep()
	}
	if st := ev.GetStatus(); st != nil {
		w.status = st.Status
		if st.Status == StatusRunning {
			w.lastEnd = 0 // a new run starts from step 1
		}
	}
	return w.stream.Send(ev)
}

// fromHub sends a hub event; done when the hub ended the stream.
func (w *watcher) fromHub(sb *sub, ev *buildv1.WatchBuildResponse, ok bool) (bool, error) {
	if !ok {
		if sb.dropped {
			return true, connect.NewError(connect.CodeResourceExhausted, errors.New("watcher fell behind the build's output"))
		}
		return true, nil
	}
	return false, w.send(ev)
}

// fromRecord sends what the record has that the stream has not: steps
// ended since, and a changed status; done when the build finished.
func (w *watcher) fromRecord(b *buildv1.Build) (bool, error) {
	if b.Attempts != w.attempts {
		w.attempts, w.lastEnd = b.Attempts, 0
	}
	var news []*buildv1.LogEntry
	for _, e := range b.Logs {
		if e.Step > w.lastEnd {
			news = append(news, e)
		}
	}
	var final *buildv1.WatchBuildResponse
	if b.Status != w.status {
		final = statusEvent(b)
	}
	if err := replay(w, news, nil); err != nil {
		return true, err
	}
	if final != nil {
		if err := w.send(final); err != nil {
			return true, err
		}
	}
	return Finished(b.Status), nil
}

type eventSender interface {
	Send(*buildv1.WatchBuildResponse) error
}

// Send lets a watcher replay through its bookkeeping.
func (w *watcher) Send(ev *buildv1.WatchBuildResponse) error { return w.send(ev) }

// replay sends log entries as events, then last (if any).
func replay(stream eventSender, logs []*buildv1.LogEntry, last *buildv1.WatchBuildResponse) error {
	for _, e := range logs {
		evs := []*buildv1.WatchBuildResponse{
			{Event: &buildv1.WatchBuildResponse_StepStart{StepStart: &buildv1.StepStart{Step: e.Step, Phase: e.Phase, Cmd: e.Cmd, Cached: e.Cached}}},
		}
		if e.Stdout != "" {
			evs = append(evs, &buildv1.WatchBuildResponse{Event: &buildv1.WatchBuildResponse_Output{Output: &buildv1.Output{Step: e.Step, Stream: "stdout", Data: []byte(e.Stdout)}}})
		}
		if e.Stderr != "" {
			evs = append(evs, &buildv1.WatchBuildResponse{Event: &buildv1.WatchBuildResponse_Output{Output: &buildv1.Output{Step: e.Step, Stream: "stderr", Data: []byte(e.Stderr)}}})
		}
		evs = append(evs, &buildv1.WatchBuildResponse{Event: &buildv1.WatchBuildResponse_StepEnd{StepEnd: &buildv1.StepEnd{Entry: proto.CloneOf(e)}}})
		for _, ev := range evs {
			if err := stream.Send(ev); err != nil {
				return err
			}
		}
	}
	if last == nil {
		return nil
	}
	return stream.Send(last)
}
