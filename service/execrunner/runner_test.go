package execrunner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/executor"
	lpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// infoAgent answers Info only; placement needs nothing else.
type infoAgent struct {
	executor.Agent
	free int64
	err  error
}

func (a *infoAgent) Info(context.Context, *connect.Request[lpb.InfoRequest]) (*connect.Response[lpb.InfoResponse], error) {
	if a.err != nil {
		return nil, a.err
	}
	return connect.NewResponse(&lpb.InfoResponse{MemoryAvailableBytes: a.free}), nil
}

func TestPickLeastLoadedThenMostFree(t *testing.T) {
	small := &Host{Name: "small", Agent: &infoAgent{free: 1 << 30}}
	big := &Host{Name: "big", Agent: &infoAgent{free: 8 << 30}}
	dead := &Host{Name: "dead", Agent: &infoAgent{err: connect.NewError(connect.CodeUnavailable, errors.New("connection refused"))}}
	r, err := New(nil, small, dead, big)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if h, err := r.pick(ctx); err != nil || h != big {
		t.Fatalf("pick = %v, %v; want big (most free memory)", h, err)
	}
	r.running["big"] = 1
	if h, _ := r.pick(ctx); h != small {
		t.Fatalf("pick with big busy = %v, want small (fewest running)", h.Name)
	}
	if _, isDown := r.down["dead"]; !isDown {
		t.Error("an agent whose Info failed is not marked down")
	}
	r2, _ := New(nil, dead)
	if _, err := r2.pick(ctx); err == nil || err.Error() != "no agent is answering (1 configured)" {
		t.Errorf("pick with every agent down: %v", err)
	}
}

// recorder is a service.Events that writes down what it was told.
type recorder struct{ got []string }

func (r *recorder) Placed(host, sb string) { r.got = append(r.got, "placed "+host+" "+sb) }
func (r *recorder) StepStart(step int, phase, cmd string, cached bool) {
	r.got = append(r.got, fmt.Sprintf("start %d %s cached=%v", step, cmd, cached))
}
func (r *recorder) Output(step int, stream string, data []byte) {
	r.got = append(r.got, fmt.Sprintf("out %d %s %q", step, stream, data))
}
func (r *recorder) StepEnd(e *buildv1.LogEntry) {
	r.got = append(r.got, fmt.Sprintf("end %d ok=%v cached=%v", e.Step, e.Ok, e.Cached))
}

// TestForwardExecutorEvents: output chunks and the sandbox id reach the
// service as they come; a step that streamed nothing (an agent without
// ExecStream) still shows its last line at its end.
func TestForwardExecutorEvents(t *testing.T) {
	rec := &recorder{}
	f := &forwarder{ev: rec, host: "agent-1", streamed: map[int]bool{}}
	for _, e := range []executor.Event{
		{Type: "step-end", Step: 1, Cmd: "RUN a", Status: "cached"},
		{Type: "sandbox", Sandbox: "sb-7"},
		{Type: "step-start", Step: 2, Cmd: "RUN b"},
		{Type: "output", Step: 2, Stream: "stdout", Data: "hello "},
		{Type: "output", Step: 2, Stream: "stderr", Data: "warn\n"},
		{Type: "step-end", Step: 2, Cmd: "RUN b", Status: "done", Output: "hello"},
		{Type: "step-start", Step: 3, Cmd: "RUN c"},
		{Type: "step-end", Step: 3, Cmd: "RUN c", Status: "failed", Exit: 2, Output: "last line"},
	} {
		f.forward(e)
	}
	want := []string{
		"start 1 RUN a cached=true", "end 1 ok=true cached=true",
		"placed agent-1 sb-7",
		"start 2 RUN b cached=false", `out 2 stdout "hello "`, `out 2 stderr "warn\n"`, "end 2 ok=true cached=false",
		"start 3 RUN c cached=false", `out 3 stdout "last line\n"`, "end 3 ok=false cached=false",
	}
	if strings.Join(rec.got, "\n") != strings.Join(want, "\n") {
		t.Errorf("forwarded:\n%s\nwant:\n%s", strings.Join(rec.got, "\n"), strings.Join(want, "\n"))
	}
	if f.sandbox != "sb-7" {
		t.Errorf("sandbox = %q", f.sandbox)
	}
}

// tplAgent answers GetTemplate for the names it has.
type tplAgent struct {
	executor.Agent
	has map[string]string // name -> digest
	err error
}

func (a *tplAgent) GetTemplate(_ context.Context, req *connect.Request[lpb.GetTemplateRequest]) (*connect.Response[lpb.GetTemplateResponse], error) {
	if a.err != nil {
		return nil, a.err
	}
	d, ok := a.has[req.Msg.Name]
	if !ok {
		return nil, connect.NewError(connect.CodeNotFound, errors.New("no such template"))
	}
	return connect.NewResponse(&lpb.GetTemplateResponse{Template: &lpb.Template{Id: req.Msg.Name, Digest: d}}), nil
}

func TestResolveTemplateAcrossAgents(t *testing.T) {
	dg := "sha256:" + strings.Repeat("ab", 32)
	a := &Host{Name: "a", Agent: &tplAgent{has: map[string]string{"minimal": dg}}}
	b := &Host{Name: "b", Agent: &tplAgent{has: map[string]string{"python": dg}}}
	down := &Host{Name: "down", Agent: &tplAgent{err: connect.NewError(connect.CodeUnavailable, errors.New("refused"))}}
	ctx := context.Background()
	r, _ := New(nil, a, b)
	for _, name := range []string{"minimal", "python"} {
		if d, err := r.ResolveTemplate(ctx, name); err != nil || d.String() != dg {
			t.Errorf("%s: %v, %v", name, d, err)
		}
	}
	if _, err := r.ResolveTemplate(ctx, "nope"); err == nil || err.Error() != "none of the 2 agents has it (bootstrap or import it with `wrenn base`)" {
		t.Errorf("unknown template: %v", err)
	}
	// An agent that cannot answer might have it: accepted, left to the
	// workers.
	r, _ = New(nil, a, down)
	if _, err := r.ResolveTemplate(ctx, "nope"); err != nil {
		t.Errorf("with an agent down: %v", err)
	}
}
