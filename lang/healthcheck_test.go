package lang

import (
	"testing"
	"time"
)

func TestParseHealthcheck(t *testing.T) {
	h, ds := ParseHealthcheck("healthcheck", "--interval=1s --retries=5 curl -f localhost:8080")
	if len(ds) > 0 {
		t.Fatal(dumpDiags(ds))
	}
	if h.Interval != time.Second || h.Timeout != 10*time.Second || h.StartPeriod != 0 || h.Retries != 5 {
		t.Errorf("got %s/%s/%s/%d", h.Interval, h.Timeout, h.StartPeriod, h.Retries)
	}
	if h.Cmd.Text != "curl -f localhost:8080" || h.Cmd.Range.Start.Offset != 26 || h.Cmd.Range.End.Offset != 48 {
		t.Errorf("cmd %q at %+v", h.Cmd.Text, h.Cmd.Range)
	}
	h, ds = ParseHealthcheck("hc", "CMD true")
	if len(ds) > 0 || h.Cmd.Text != "true" || h.Interval != 3*time.Second {
		t.Errorf("CMD form: %q %s\n%s", h.Cmd.Text, h.Interval, dumpDiags(ds))
	}
	_, ds = ParseHealthcheck("hc", "--interval=0 --tiemout=1s")
	got := dumpDiags(ds)
	want := "hc:1:12-1:13: error: --interval must be positive [invalid-duration]\n" +
		"hc:1:16-1:23: error: unknown flag --tiemout for HEALTHCHECK [unknown-flag] (did you mean --timeout?)\n" +
		"hc:1:26-1:26: error: HEALTHCHECK needs a command [missing-argument] (syntax: HEALTHCHECK [--interval=<duration>] [--timeout=<duration>] [--start-period=<duration>] [--retries=<n>] [CMD] <command>)\n"
	if got != want {
		t.Errorf("got:\n%swant:\n%s", got, want)
	}
}
