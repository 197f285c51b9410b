package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/executor"
)

// progress prints build events: one line per event (plain, and on a
// terminal), or one JSON object per line (json).
type progress struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
	tty  bool
	live *ttyDisplay // the live view when tty
	// partial holds, per step and stream, output after its last newline
	// (plain prints whole lines).
	partial map[outKey]string
}

type outKey struct {
	step   int
	stream string
}

func newProgress(w io.Writer, mode string) *progress {
	p := &progress{w: w, json: mode == "json", partial: map[outKey]string{}}
	if mode == "tty" {
		p.tty = true
	} else if mode == "auto" {
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			p.tty = true
		}
	}
	if p.tty && !p.json {
		p.live = newTTYDisplay(w)
	}
	return p
}

type stepEndJSON struct {
	Event     string `json:"event"`
	Step      int    `json:"step"`
	Total     int    `json:"total"`
	Phase     string `json:"phase"`
	Cmd       string `json:"cmd"`
	Status    string `json:"status"`
	Exit      int    `json:"exit"`
	ElapsedMs int64  `json:"elapsed_ms"`
}

// outputJSON is one chunk of a running step's output, as it arrived.
type outputJSON struct {
	Event  string `json:"event"`
	Step   int    `json:"step"`
	Stream string `json:"stream"`
	Data   string `json:"data"`
}

func (p *progress) event(e executor.Event) {
	if p.live != nil {
		p.live.event(e)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		switch e.Type {
		case "step-end":
			_ = json.NewEncoder(p.w).Encode(stepEndJSON{Event: "step-end", Step: e.Step, Total: e.Total, Phase: e.Phase, Cmd: e.Cmd,
				Status: e.Status, Exit: e.Exit, ElapsedMs: e.Elapsed.Milliseconds()})
		case "step-start":
			_ = json.NewEncoder(p.w).Encode(map[string]any{"event": "step-start", "step": e.Step, "total": e.Total, "phase": e.Phase, "cmd": e.Cmd})
		case "output":
			_ = json.NewEncoder(p.w).Encode(outputJSON{Event: "output", Step: e.Step, Stream: e.Stream, Data: e.Data})
		case "sandbox":
			_ = json.NewEncoder(p.w).Encode(map[string]any{"event": "sandbox", "sandbox": e.Sandbox})
		case "info":
			_ = json.NewEncoder(p.w).Encode(map[string]any{"event": "info", "message": e.Message})
		}
		return
	}
	switch e.Type {
	case "output":
		k := outKey{e.Step, e.Stream}
		text := p.partial[k] + e.Data
		for {
			line, rest, ok := strings.Cut(text, "\n")
			if !ok {
				break
			}
			fmt.Fprintf(p.w, "#%d | %s\n", e.Step, strings.TrimSuffix(line, "\r"))
			text = rest
		}
		p.partial[k] = text
	case "step-end":
		for _, stream := range []string{"stdout", "stderr"} {
			k := outKey{e.Step, stream}
			if rest := p.partial[k]; rest != "" {
				fmt.Fprintf(p.w, "#%d | %s\n", e.Step, rest)
			}
			delete(p.partial, k)
		}
		switch e.Status {
		case "cached":
			fmt.Fprintf(p.w, "[%d/%d] %s  cached\n", e.Step, e.Total, e.Cmd)
		case "done":
			fmt.Fprintf(p.w, "[%d/%d] %s  done %s\n", e.Step, e.Total, e.Cmd, secs(e.Elapsed))
		default:
			fmt.Fprintf(p.w, "[%d/%d] %s  FAILED (exit %d) %s\n", e.Step, e.Total, e.Cmd, e.Exit, secs(e.Elapsed))
		}
	case "info":
		fmt.Fprintln(p.w, e.Message)
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func (p *progress) summary(res *executor.Result) {
	p.close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		_ = json.NewEncoder(p.w).Encode(map[string]any{"event": "build-end", "status": res.Status, "template": res.Template,
			"type": res.Type, "steps": res.Steps, "cached": res.Cached, "ran": res.Ran, "elapsed_ms": res.Elapsed.Milliseconds()})
		return
	}
	fmt.Fprintf(p.w, "%d steps, %d cached, %d run, %s: %s %s (%s)\n", res.Steps, res.Cached, res.Ran, secs(res.Elapsed), res.Status, res.Template, res.Type)
}

// close ends the live view (its ticker) if there is one.
func (p *progress) close() {
	if p.live != nil {
		p.live.finish()
	}
}

func (p *progress) dryRun(plan *compiler.Plan, cached map[int]bool, noCache bool, forced map[int]bool) {
	for _, s := range plan.Steps {
		state := "will run"
		if cached[s.ID] && !noCache && !forced[s.ID] {
			state = "cached"
		}
		if p.json {
			_ = json.NewEncoder(p.w).Encode(map[string]any{"event": "plan", "step": s.ID, "phase": s.Phase, "cmd": s.Text, "key": s.Key.String(), "status": state})
			continue
		}
		fmt.Fprintf(p.w, "[%d/%d] %-9s %s  %s  %s\n", s.ID, len(plan.Steps), s.Phase, compiler.ShortKey(s.Key), state, s.Text)
	}
}
