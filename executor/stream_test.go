package executor_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/executor"
	"wrenn.dev/wrenn/lang"
	pb "wrenn.dev/wrenn/proto/hostagent/v1"
)

// buildEvents builds src on a and returns the events in order.
func buildEvents(t *testing.T, p *project, a executor.Agent, src string, on func(executor.Event)) (*executor.Result, []executor.Event, error) {
	t.Helper()
	f, diags := lang.Parse("Wrennfile", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var mu sync.Mutex
	var events []executor.Event
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := executor.Build(ctx, executor.Request{Agent: a, Store: p.store, File: f, Name: p.name,
		Options: compiler.Options{SkipPrePost: true},
		Events: func(e executor.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
			if on != nil {
				on(e)
			}
		}})
	return res, events, err
}

// TestStepOutputStreams runs a step that prints, waits, prints. The wait
// ends only when the test, on receiving the first chunk, writes a file into
// the build sandbox (named by the "sandbox" event): so the first chunk must
// arrive while the step runs, before its step-end. The log keeps the whole
// output.
func TestStepOutputStreams(t *testing.T) {
	src := `FROM minimal
RUN echo first; echo warn >&2; i=0; while [ ! -f /tmp/go ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done; test -f /tmp/go && echo second
`
	p := newProject(t, src, nil)
	var sandbox string
	released := false
	res, events, err := buildEvents(t, p, env.client, src, func(e executor.Event) {
		switch {
		case e.Type == "sandbox":
			sandbox = e.Sandbox
		case e.Type == "output" && e.Step == 1 && strings.Contains(e.Data, "first") && !released:
			released = true
			if err := env.backend.WriteFile(context.Background(), sandbox, "/tmp/go", nil); err != nil {
				t.Errorf("release the step: %v", err)
			}
		}
	})
	if err != nil {
		t.Fatalf("build: %v (the step never saw /tmp/go: its first chunk did not arrive while it ran)", err)
	}
	if sandbox == "" {
		t.Fatal("no sandbox event")
	}
	var order []string
	for _, e := range events {
		if e.Step == 1 && (e.Type == "output" || e.Type == "step-end") {
			order = append(order, e.Type+":"+e.Stream+":"+strings.TrimSpace(e.Data))
		}
	}
	got := strings.Join(order, " ")
	if !strings.HasPrefix(got, "output:stdout:first") && !strings.HasPrefix(got, "output:stderr:warn") || !strings.HasSuffix(got, "step-end::") {
		t.Fatalf("step 1 events: %s", got)
	}
	if !strings.Contains(got, "output:stdout:second") || !strings.Contains(got, "output:stderr:warn") {
		t.Fatalf("missing chunks: %s", got)
	}
	l := res.Logs[0]
	if l.Stdout != "first\nsecond\n" || l.Stderr != "warn\n" {
		t.Fatalf("log stdout %q stderr %q", l.Stdout, l.Stderr)
	}
}

// noStream is a real agent whose ExecStream answers Unimplemented, as an
// agent built before streaming would.
type noStream struct{ *agent.Client }

func (noStream) ExecStream(context.Context, *connect.Request[pb.ExecStreamRequest]) (*connect.ServerStreamForClient[pb.ExecStreamResponse], error) {
	return nil, connect.NewError(connect.CodeUnimplemented, fmt.Errorf("no ExecStream"))
}

// TestStepOutputWithoutStreaming: against an agent without ExecStream the
// build uses the unary Exec and still reports each step's output (in one
// event per stream, before its step-end) and logs it whole.
func TestStepOutputWithoutStreaming(t *testing.T) {
	src := "FROM minimal\nRUN echo one; echo two >&2\nRUN echo three\n"
	p := newProject(t, src, nil)
	res, events, err := buildEvents(t, p, noStream{env.client}, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range events {
		if e.Type == "output" || e.Type == "step-end" {
			order = append(order, fmt.Sprintf("%s:%d:%s", e.Type, e.Step, strings.TrimSpace(e.Data)))
		}
	}
	if got, want := strings.Join(order, " "), "output:1:one output:1:two step-end:1: output:2:three step-end:2:"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if res.Logs[0].Stdout != "one\n" || res.Logs[0].Stderr != "two\n" {
		t.Fatalf("log %+v", res.Logs[0])
	}
}
