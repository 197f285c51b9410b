package service

import (
	"sync"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// subBuffer bounds the events queued for one watcher; a watcher that falls
// this far behind is dropped (its stream ends with an error) rather than
// slowing the build down.
const subBuffer = 4096

// hub fans a running build's events out to its watchers and keeps the
// events of the current run, so that a watcher that joins late first gets
// what it missed.
type hub struct {
	mu     sync.Mutex
	topics map[string]*topic
}

type topic struct {
	history []*buildv1.WatchBuildResponse
	subs    map[*sub]struct{}
}

type sub struct {
	ch      chan *buildv1.WatchBuildResponse
	dropped bool // closed because it fell behind
}

func newHub() *hub { return &hub{topics: map[string]*topic{}} }

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
	h.topic(id).history = nil
}

// publish records ev and sends it to every watcher.
func (h *hub) publish(id string, ev *buildv1.WatchBuildResponse) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topic(id)
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

// subscribe returns the events of the current run so far and a watcher
// receiving the rest; both are taken under one lock so nothing is missed
// or repeated.
func (h *hub) subscribe(id string) ([]*buildv1.WatchBuildResponse, *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topic(id)
	s := &sub{ch: make(chan *buildv1.WatchBuildResponse, subBuffer)}
	t.subs[s] = struct{}{}
	return append([]*buildv1.WatchBuildResponse(nil), t.history...), s
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
