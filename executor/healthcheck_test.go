package executor_test

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"wrenn.dev/wrenn/executor"
)

// TestHealthcheckParameterSetsSnapshot gives a file without HEALTHCHECK a
// healthcheck as the build parameter: START's server must be up for it to
// pass, and the template becomes a snapshot. The parameter is part of the
// final key, so dropping it rebuilds the result (flattened) without
// re-running any step.
func TestHealthcheckParameterSetsSnapshot(t *testing.T) {
	port := freePort(t)
	p := newProject(t, `FROM minimal
RUN mkdir -p /www && echo up > /www/index.html
START httpd -f -p 127.0.0.1:`+port+` -h /www
`, nil)
	probe := "wget -q -O /dev/null http://127.0.0.1:" + port + "/index.html"
	hc, err := executor.ParseHealthcheck("--healthcheck", "--interval=200ms --retries=20 CMD "+probe)
	if err != nil {
		t.Fatal(err)
	}
	p.hc = hc
	res := p.build()
	if res.Type != "snapshot" || res.Plan.Result.Healthcheck == nil {
		t.Fatalf("type %q, want snapshot from the parameter", res.Type)
	}
	if h := res.Plan.Result.Healthcheck; h.Interval.Milliseconds() != 200 || h.Retries != 20 || h.Timeout.Seconds() != 10 || h.Cmd != probe {
		t.Fatalf("healthcheck %+v: flags or the seed's 10 s timeout default not applied", h)
	}
	p.hc = nil
	res = p.build()
	if res.Type != "base" || len(ran(res)) != 0 {
		t.Fatalf("without the parameter: type %q ran %v, want base and no step run", res.Type, ran(res))
	}
}

// TestHealthcheckParameterOverridesFile: the file's HEALTHCHECK would
// fail; the parameter replaces it and the build passes.
func TestHealthcheckParameterOverridesFile(t *testing.T) {
	p := newProject(t, "FROM minimal\nRUN true\nHEALTHCHECK --interval=100ms --retries=2 false\n", nil)
	hc, err := executor.ParseHealthcheck("--healthcheck", "--interval=100ms true")
	if err != nil {
		t.Fatal(err)
	}
	p.hc = hc
	if res := p.build(); res.Type != "snapshot" || res.Plan.Result.Healthcheck.Cmd != "true" {
		t.Fatalf("type %q healthcheck %+v, want the parameter's", res.Type, res.Plan.Result.Healthcheck)
	}
}

func TestParseHealthcheckErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"":                    "--healthcheck:1:1: HEALTHCHECK needs a command",
		"--interval=abc true": `--healthcheck:1:12: invalid duration "abc" for --interval`,
		"--bogus=1 true":      "--healthcheck:1:3: unknown flag --bogus",
	} {
		_, err := executor.ParseHealthcheck("--healthcheck", spec)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseHealthcheck(%q) = %v, want %q", spec, err, want)
		}
	}
}

// freePort is a loopback TCP port free right now: sandboxes share the
// host's network, and other builds on the machine may hold a fixed port.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
