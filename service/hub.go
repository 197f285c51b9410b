package service

import (
	"cmp"
	"slices"
	"sync"

	"google.golang.org/protobuf/proto"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// subBuffer bounds the events queued for one watcher; a watcher that falls
// this far behind is dropped (its stream ends with resource_exhausted)
// rather than slowing the build down.
const subBuffer = 4096

// DefaultHistoryOutputBytes bounds the output a running build keeps for
// watchers that join late: the last 1 MiB of its output chunks. Step
// starts, step ends and statuses are always kept (they are small and one
// per step). The stored record has every step's full output once the
// build ends.
const DefaultHistoryOutputBytes = 1 << 20

// hub fans a running build's events out to its watchers and keeps the
// events of the current run, so that a watcher that joins late first gets
// what it missed.
type hub struct {
	mu       sync.Mutex
	topics   map[string]*topic
	maxBytes int
}

type topic struct {
	// history holds the run's events in order; evicted output chunks are
	// nil. outputs are the positions of the kept chunks, oldest first.
	history  []*buildv1.WatchBuildResponse
	outputs  []int
	outBytes int
	// skipped counts the evicted bytes per step and stream.
	skipped map[streamKey]int64
	subs    map[*sub]struct{}
}

type streamKey struct {
	step   int32
	stream string
}

type sub struct {
	ch      chan *buildv1.WatchBuildResponse
	dropped bool // closed because it fell behind
}

func newHub(maxBytes int) *hub {
	if maxBytes <= 0 {
		maxBytes = DefaultHistoryOutputBytes
	}
	return &hub{topics: map[string]*topic{}, maxBytes: maxBytes}
}

func (h *hub) topic(id string) *topic {
	t := h.topics[id]
	if t == nil {
		t = &topic{subs: map[*sub]struct{}{}}
		h.topics[id] = t
	}
	return t
}

// start begins a new run of id: history restarts, watchers stay.
func (h *hub) start(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topic(id)
	t.history, t.outputs, t.outBytes, t.skipped = nil, nil, 0, nil
}

// publish records ev and sends it to every watcher.
func (h *hub) publish(id string, ev *buildv1.WatchBuildResponse) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topic(id)
	if out := ev.GetOutput(); out != nil {
		t.outputs = append(t.outputs, len(t.history))
		t.outBytes += len(out.Data)
		h.evict(t)
	}
	t.history = append(t.history, ev)
	for s := range t.subs {
		select {
		case s.ch <- ev:
		default:
			s.dropped = true
			close(s.ch)
			delete(t.subs, s)
		}
	}
}

// evict drops the oldest output chunks until the kept ones fit the bound
// (the newest chunk always stays).
func (h *hub) evict(t *topic) {
	for t.outBytes > h.maxBytes && len(t.outputs) > 1 {
		i := t.outputs[0]
		t.outputs = t.outputs[1:]
		out := t.history[i].GetOutput()
		t.outBytes -= len(out.Data)
		if t.skipped == nil {
			t.skipped = map[streamKey]int64{}
		}
		t.skipped[streamKey{out.Step, out.Stream}] += int64(len(out.Data))
		t.history[i] = nil
	}
}

// requeue tells watchers the build waits again and drops the run's
// history: until a worker starts it again, the record says all there is.
func (h *hub) requeue(id string, ev *buildv1.WatchBuildResponse) {
	h.publish(id, ev)
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[id]; t != nil {
		t.history, t.outputs, t.outBytes, t.skipped = nil, nil, 0, nil
		if len(t.subs) == 0 {
			delete(h.topics, id)
		}
	}
}

// finish sends the last event (if any), ends every watcher's stream and
// forgets the build.
func (h *hub) finish(id string, last *buildv1.WatchBuildResponse) {
	if last != nil {
		h.publish(id, last)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[id]; t != nil {
		for s := range t.subs {
			close(s.ch)
		}
		delete(h.topics, id)
	}
}

// snapshot is the kept history as a late watcher sees it: where output was
// evicted, the first kept chunk of that step's stream says how many bytes
// came before it (skipped_bytes), or, when none of it was kept, an empty
// chunk says so before the step's end (or at the end for the running step).
func (t *topic) snapshot() []*buildv1.WatchBuildResponse {
	out := make([]*buildv1.WatchBuildResponse, 0, len(t.history))
	told := map[streamKey]bool{}
	gap := func(k streamKey) *buildv1.WatchBuildResponse {
		told[k] = true
		return &buildv1.WatchBuildResponse{Event: &buildv1.WatchBuildResponse_Output{Output: &buildv1.Output{
			Step: k.step, Stream: k.stream, SkippedBytes: t.skipped[k]}}}
	}
	for _, ev := range t.history {
		if ev == nil {
			continue
		}
		if o := ev.GetOutput(); o != nil && len(t.skipped) > 0 {
			k := streamKey{o.Step, o.Stream}
			if n := t.skipped[k]; n > 0 && !told[k] {
				told[k] = true
				c := proto.CloneOf(ev)
				c.GetOutput().SkippedBytes = n
				ev = c
			}
		}
		if e := ev.GetStepEnd(); e != nil && len(t.skipped) > 0 {
			for _, stream := range []string{"stdout", "stderr"} {
				k := streamKey{e.Entry.GetStep(), stream}
				if t.skipped[k] > 0 && !told[k] {
					out = append(out, gap(k))
				}
			}
		}
		out = append(out, ev)
	}
	var rest []streamKey
	for k, n := range t.skipped {
		if n > 0 && !told[k] {
			rest = append(rest, k)
		}
	}
	slices.SortFunc(rest, func(a, b streamKey) int {
		return cmp.Or(cmp.Compare(a.step, b.step), cmp.Compare(a.stream, b.stream))
	})
	for _, k := range rest {
		out = append(out, gap(k))
	}
	return out
}

// subscribe returns the events of the current run so far and a watcher
// receiving the rest; both are taken under one lock so nothing is missed
// or repeated.
func (h *hub) subscribe(id string) ([]*buildv1.WatchBuildResponse, *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topic(id)
	s := &sub{ch: make(chan *buildv1.WatchBuildResponse, subBuffer)}
	t.subs[s] = struct{}{}
	return t.snapshot(), s
}

// unsubscribe drops s; a topic nobody runs or watches is forgotten.
func (h *hub) unsubscribe(id string, s *sub, running func() bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[id]
	if t == nil {
		return
	}
	if _, ok := t.subs[s]; ok {
		delete(t.subs, s)
		close(s.ch)
	}
	if len(t.subs) == 0 && len(t.history) == 0 && !running() {
		delete(h.topics, id)
	}
}
