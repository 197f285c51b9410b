package service

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// chattyRunner writes a step's output in chunks, waiting for the test
// between them, so the test can see each chunk arrive while the step runs.
type chattyRunner struct {
	chunks []string
	next   chan struct{} // one receive per chunk after the first
}

func (r *chattyRunner) Run(ctx context.Context, job *Job, ev Events) (*Result, error) {
	ev.Placed("agent-x", "sb-42")
	ev.StepStart(1, "recipe", "RUN chatty", false)
	for i, c := range r.chunks {
		if i > 0 {
			select {
			case <-r.next:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ev.Output(1, "stdout", []byte(c))
	}
	ev.StepEnd(&buildv1.LogEntry{Step: 1, Phase: "recipe", Cmd: "RUN chatty", Ok: true})
	return &Result{Logs: []*buildv1.LogEntry{{Step: 1, Phase: "recipe", Cmd: "RUN chatty", Stdout: "one\ntwo\nthree\n", Ok: true}}}, nil
}

// TestWatchStreamsOutputLive: a watcher that joins while a step runs
// first gets the chunks it missed, then each new chunk while the step is
// still running (the runner waits for the test between chunks), and the
// record names the sandbox and host at once.
func TestWatchStreamsOutputLive(t *testing.T) {
	r := &chattyRunner{chunks: []string{"one\n", "two\n", "three\n"}, next: make(chan struct{})}
	ts := startServer(t, t.TempDir(), nil, r, Config{Workers: 1})
	b := ts.create(t, "chatty", "RUN chatty")
	// The first chunk is out when the build is running with its sandbox.
	deadline := time.Now().Add(10 * time.Second)
	for rec := ts.get(t, b.Id); rec.SandboxId != "sb-42" || rec.Host != "agent-x"; rec = ts.get(t, b.Id) {
		if time.Now().After(deadline) {
			t.Fatalf("running record: sandbox %q host %q", rec.SandboxId, rec.Host)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stream, err := ts.client.WatchBuild(context.Background(), connect.NewRequest(&buildv1.WatchBuildRequest{Id: b.Id}))
	if err != nil {
		t.Fatal(err)
	}
	recv := func() *buildv1.WatchBuildResponse {
		t.Helper()
		if !stream.Receive() {
			t.Fatalf("stream ended: %v", stream.Err())
		}
		return stream.Msg()
	}
	// What it missed: status, step start, the first chunk.
	if ev := recv(); ev.GetStatus().GetStatus() != StatusRunning {
		t.Fatalf("first event %v", ev)
	}
	if ev := recv(); ev.GetStepStart().GetStep() != 1 {
		t.Fatalf("second event %v", ev)
	}
	for _, want := range []string{"one\n", "two\n", "three\n"} {
		if want != "one\n" {
			r.next <- struct{}{} // the runner writes the next chunk only now
		}
		if ev := recv(); string(ev.GetOutput().GetData()) != want {
			t.Fatalf("event %v, want output %q", ev, want)
		}
	}
	if ev := recv(); ev.GetStepEnd() == nil {
		t.Fatalf("event %v, want step end", ev)
	}
	if ev := recv(); ev.GetStatus().GetStatus() != StatusSuccess {
		t.Fatalf("event %v, want success", ev)
	}
	rec := ts.get(t, b.Id)
	if rec.Logs[0].Stdout != "one\ntwo\nthree\n" || rec.SandboxId != "sb-42" {
		t.Errorf("final record: %v", rec)
	}
}
