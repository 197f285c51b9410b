package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"wrenn.dev/wrenn/executor"
)

// screen applies the display's ANSI output (cursor up, clear line, CR,
// newline) to a line buffer and returns the visible lines.
func screen(out string) []string {
	var lines []string
	row := 0
	for i := 0; i < len(out); {
		switch {
		case strings.HasPrefix(out[i:], "\x1b[2K"):
			for len(lines) <= row {
				lines = append(lines, "")
			}
			lines[row] = ""
			i += 4
		case strings.HasPrefix(out[i:], "\x1b["):
			j := i + 2
			n := 0
			for out[j] >= '0' && out[j] <= '9' {
				n = n*10 + int(out[j]-'0')
				j++
			}
			if out[j] == 'A' {
				row -= n
			}
			i = j + 1
		case out[i] == '\r':
			i++
		case out[i] == '\n':
			row++
			i++
		default:
			for len(lines) <= row {
				lines = append(lines, "")
			}
			lines[row] += out[i : i+1]
			i++
		}
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// newTestTTY is a TTY display writing to a buffer, on a clock the test
// sets through the returned time.
func newTestTTY() (*ttyDisplay, *bytes.Buffer, *time.Time) {
	buf := &bytes.Buffer{}
	d := newTTYDisplay(buf)
	now := time.Unix(100, 0)
	d.mu.Lock()
	d.now = func() time.Time { return now }
	d.mu.Unlock()
	return d, buf, &now
}

func TestTTYDisplayRedrawsInPlace(t *testing.T) {
	d, buf, now := newTestTTY()
	d.event(executor.Event{Type: "step-end", Step: 1, Total: 2, Cmd: "RUN a", Status: "cached"})
	d.event(executor.Event{Type: "step-start", Step: 2, Total: 2, Cmd: "RUN b"})
	d.mu.Lock()
	*now = now.Add(2 * time.Second)
	d.draw()
	d.mu.Unlock()
	if got := screen(buf.String()); len(got) != 2 || got[1] != "[2/2] RUN b  running 2.0 s" {
		t.Fatalf("running frame: %q", got)
	}
	d.event(executor.Event{Type: "step-end", Step: 2, Total: 2, Cmd: "RUN b", Status: "done", Elapsed: 1500 * time.Millisecond, Output: "hello"})
	d.finish()
	want := []string{"[1/2] RUN a  cached", "[2/2] RUN b  done 1.5 s  │ hello"}
	if got := screen(buf.String()); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("final screen:\n%q\nwant\n%q", got, want)
	}
}

// TestTTYDisplayShowsLiveOutput: a running step shows its elapsed time and
// the last line of output so far, including a line still being written.
func TestTTYDisplayShowsLiveOutput(t *testing.T) {
	d, buf, now := newTestTTY()
	d.event(executor.Event{Type: "step-start", Step: 1, Total: 1, Cmd: "RUN make"})
	frame := func() string {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.draw()
		got := screen(buf.String())
		return got[len(got)-1]
	}
	d.event(executor.Event{Type: "output", Step: 1, Stream: "stdout", Data: "compiling a.c\ncompiling b.c\n"})
	*now = now.Add(1500 * time.Millisecond)
	if got := frame(); got != "[1/1] RUN make  running 1.5 s  │ compiling b.c" {
		t.Fatalf("after two lines: %q", got)
	}
	d.event(executor.Event{Type: "output", Step: 1, Stream: "stderr", Data: "warning: x"})
	if got := frame(); got != "[1/1] RUN make  running 1.5 s  │ warning: x" {
		t.Fatalf("partial line: %q", got)
	}
	d.event(executor.Event{Type: "output", Step: 1, Stream: "stderr", Data: " unused\n\n"})
	if got := frame(); got != "[1/1] RUN make  running 1.5 s  │ warning: x unused" {
		t.Fatalf("completed line then blank: %q", got)
	}
	d.finish()
}
