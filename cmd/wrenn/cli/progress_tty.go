package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"wrenn.dev/wrenn/executor"
)

// ttyDisplay is the live view on a terminal: one line per step that has
// started or finished (cached, running with elapsed time, done with time
// and its last output line), redrawn in place with ANSI cursor movement.
type ttyDisplay struct {
	mu      sync.Mutex
	w       io.Writer
	steps   map[int]*ttyStep
	total   int
	info    string
	drawn   int // lines on screen from the last frame
	stop    chan struct{}
	stopped bool
	now     func() time.Time
}

type ttyStep struct {
	id      int
	cmd     string
	status  string // running, cached, done, failed
	started time.Time
	elapsed time.Duration
	output  string // the last non-empty line of output
	tail    string // output after its last newline, while running
	exit    int
}

func newTTYDisplay(w io.Writer) *ttyDisplay {
	d := &ttyDisplay{w: w, steps: map[int]*ttyStep{}, stop: make(chan struct{}), now: time.Now}
	go d.tick()
	return d
}

// tick redraws running steps' elapsed times.
func (d *ttyDisplay) tick() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.mu.Lock()
			d.draw()
			d.mu.Unlock()
		}
	}
}

func (d *ttyDisplay) event(e executor.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e.Total > 0 {
		d.total = e.Total
	}
	switch e.Type {
	case "step-start":
		d.steps[e.Step] = &ttyStep{id: e.Step, cmd: e.Cmd, status: "running", started: d.now()}
	case "output":
		if s := d.steps[e.Step]; s != nil {
			text := s.tail + e.Data
			if i := strings.LastIndexByte(text, '\n'); i >= 0 {
				if l := lastLine(text[:i]); l != "" {
					s.output = l
				}
				text = text[i+1:]
			}
			if len(text) > 4096 { // a long line without a newline
				text = text[len(text)-4096:]
			}
			s.tail = text
			if l := strings.TrimSpace(text); l != "" {
				s.output = l
			}
		}
		return // the ticker redraws
	case "step-end":
		s := d.steps[e.Step]
		if s == nil {
			s = &ttyStep{id: e.Step, cmd: e.Cmd}
			d.steps[e.Step] = s
		}
		s.status, s.elapsed, s.output, s.exit = e.Status, e.Elapsed, e.Output, e.Exit
	case "info":
		d.info = e.Message
	}
	d.draw()
}

// finish draws the last frame and stops the ticker.
func (d *ttyDisplay) finish() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.stopped {
		d.stopped = true
		close(d.stop)
		d.info = ""
		d.draw()
	}
}

func (d *ttyDisplay) draw() {
	ids := make([]int, 0, len(d.steps))
	for id := range d.steps {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var b strings.Builder
	if d.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.drawn)
	}
	lines := 0
	for _, id := range ids {
		s := d.steps[id]
		var state string
		switch s.status {
		case "running":
			state = fmt.Sprintf("running %s", secs(d.now().Sub(s.started)))
		case "cached":
			state = "cached"
		case "done":
			state = "done " + secs(s.elapsed)
		default:
			state = fmt.Sprintf("FAILED exit %d after %s", s.exit, secs(s.elapsed))
		}
		line := fmt.Sprintf("[%d/%d] %s  %s", s.id, d.total, truncate(s.cmd, 60), state)
		if s.output != "" && s.status != "cached" {
			line += "  │ " + truncate(s.output, 50)
		}
		fmt.Fprintf(&b, "\x1b[2K\r%s\n", line)
		lines++
	}
	if d.info != "" {
		fmt.Fprintf(&b, "\x1b[2K\r%s\n", d.info)
		lines++
	}
	// Clear what the previous frame drew below this one.
	for i := lines; i < d.drawn; i++ {
		b.WriteString("\x1b[2K\n")
	}
	if extra := d.drawn - lines; extra > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", extra)
	}
	d.drawn = lines
	_, _ = io.WriteString(d.w, b.String())
}

// lastLine is the last non-blank line of text, trimmed.
func lastLine(text string) string {
	for text != "" {
		i := strings.LastIndexByte(text, '\n')
		if l := strings.TrimSpace(text[i+1:]); l != "" {
			return l
		}
		if i < 0 {
			break
		}
		text = text[:i]
	}
	return ""
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
