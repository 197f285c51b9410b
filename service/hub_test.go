package service

import (
	"fmt"
	"strings"
	"testing"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

func outEv(step int32, stream, data string) *buildv1.WatchBuildResponse {
	return &buildv1.WatchBuildResponse{Event: &buildv1.WatchBuildResponse_Output{Output: &buildv1.Output{Step: step, Stream: stream, Data: []byte(data)}}}
}

func startEv(step int32) *buildv1.WatchBuildResponse {
	return &buildv1.WatchBuildResponse{Event: &buildv1.WatchBuildResponse_StepStart{StepStart: &buildv1.StepStart{Step: step}}}
}

func endEv(step int32) *buildv1.WatchBuildResponse {
	return &buildv1.WatchBuildResponse{Event: &buildv1.WatchBuildResponse_StepEnd{StepEnd: &buildv1.StepEnd{Entry: &buildv1.LogEntry{Step: step, Ok: true}}}}
}

func describe(evs []*buildv1.WatchBuildResponse) string {
	var out []string
	for _, ev := range evs {
		switch {
		case ev.GetStepStart() != nil:
			out = append(out, fmt.Sprintf("start%d", ev.GetStepStart().Step))
		case ev.GetStepEnd() != nil:
			out = append(out, fmt.Sprintf("end%d", ev.GetStepEnd().Entry.Step))
		case ev.GetOutput() != nil:
			o := ev.GetOutput()
			s := fmt.Sprintf("%d%s:%q", o.Step, o.Stream, o.Data)
			if o.SkippedBytes > 0 {
				s += fmt.Sprintf("(+%d skipped)", o.SkippedBytes)
			}
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

// TestHubBoundsOutputHistory: a late watcher gets every step start and end
// and the newest output within the bound, told how many bytes of each
// stream it missed.
func TestHubBoundsOutputHistory(t *testing.T) {
	h := newHub(8)
	h.start("b")
	for _, ev := range []*buildv1.WatchBuildResponse{
		startEv(1), outEv(1, "stdout", "aaaa"), outEv(1, "stderr", "EE"), outEv(1, "stdout", "bbbb"), endEv(1),
		startEv(2), outEv(2, "stdout", "cccc"), outEv(2, "stdout", "dddd"),
	} {
		h.publish("b", ev)
	}
	hist, sb := h.subscribe("b")
	want := `start1 1stdout:""(+8 skipped) 1stderr:""(+2 skipped) end1 start2 2stdout:"cccc" 2stdout:"dddd"`
	if got := describe(hist); got != want {
		t.Errorf("late history:\n got %s\nwant %s", got, want)
	}
	// Live events still reach the watcher, and evict more.
	h.publish("b", outEv(2, "stdout", "ee"))
	if got := describe([]*buildv1.WatchBuildResponse{<-sb.ch}); got != `2stdout:"ee"` {
		t.Errorf("live = %s", got)
	}
	hist, _ = h.subscribe("b")
	want = `start1 1stdout:""(+8 skipped) 1stderr:""(+2 skipped) end1 start2 2stdout:"dddd"(+4 skipped) 2stdout:"ee"`
	if got := describe(hist); got != want {
		t.Errorf("after more output:\n got %s\nwant %s", got, want)
	}
	// A chunk larger than the bound is kept on its own.
	h.publish("b", outEv(2, "stderr", "0123456789"))
	hist, _ = h.subscribe("b")
	if got := describe(hist); !strings.HasSuffix(got, `end1 start2 2stderr:"0123456789" 2stdout:""(+10 skipped)`) {
		t.Errorf("big chunk: %s", got)
	}
	// A new run starts a fresh history.
	h.start("b")
	if hist, _ := h.subscribe("b"); len(hist) != 0 {
		t.Errorf("history after restart: %s", describe(hist))
	}
}
