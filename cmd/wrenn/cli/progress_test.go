package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"wrenn.dev/wrenn/executor"
)

// TestPlainProgressPrefixesOutputLines: plain prints each whole line of a
// step's output as `#N | text` as soon as its newline arrives (chunks may
// split lines), keeps steps and streams apart, and flushes an unfinished
// last line at the step's end.
func TestPlainProgressPrefixesOutputLines(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "plain")
	p.event(executor.Event{Type: "output", Step: 3, Stream: "stdout", Data: "hel"})
	if buf.Len() != 0 {
		t.Fatalf("half a line printed: %q", buf.String())
	}
	p.event(executor.Event{Type: "output", Step: 3, Stream: "stdout", Data: "lo\nwor"})
	p.event(executor.Event{Type: "output", Step: 3, Stream: "stderr", Data: "oops\r\n"})
	if got := buf.String(); got != "#3 | hello\n#3 | oops\n" {
		t.Fatalf("live lines: %q", got)
	}
	p.event(executor.Event{Type: "step-end", Step: 3, Total: 4, Cmd: "RUN x", Status: "done", Elapsed: time.Second})
	want := "#3 | hello\n#3 | oops\n#3 | wor\n[3/4] RUN x  done 1.0 s\n"
	if got := buf.String(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestJSONProgressOutputEvents: one object per chunk with exactly the
// fields event, step, stream, data; step-end keeps its shape.
func TestJSONProgressOutputEvents(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "json")
	p.event(executor.Event{Type: "sandbox", Sandbox: "sb-1"})
	p.event(executor.Event{Type: "output", Step: 2, Stream: "stderr", Data: "a \"q\"\nb"})
	p.event(executor.Event{Type: "step-end", Step: 2, Total: 2, Phase: "recipe", Cmd: "RUN x", Status: "failed", Exit: 3, Elapsed: 1500 * time.Millisecond})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`{"event":"sandbox","sandbox":"sb-1"}`,
		`{"event":"output","step":2,"stream":"stderr","data":"a \"q\"\nb"}`,
		`{"event":"step-end","step":2,"total":2,"phase":"recipe","cmd":"RUN x","status":"failed","exit":3,"elapsed_ms":1500}`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("not JSON: %s", l)
		}
	}
}
