package agent

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"connectrpc.com/connect"

	pb "wrenn.dev/wrenn/proto/hostagent/v1"
)

func execSpec(sandboxID, cmd string, args []string, timeoutSec int32) (ExecSpec, error) {
	if err := checkID("sandbox_id", sandboxID); err != nil {
		return ExecSpec{}, err
	}
	if cmd == "" {
		return ExecSpec{}, invalid("cmd is required")
	}
	if timeoutSec < 0 {
		return ExecSpec{}, invalid("timeout_sec is negative (%d)", timeoutSec)
	}
	return ExecSpec{Cmd: cmd, Args: args, Timeout: seconds(timeoutSec)}, nil
}

// Exec runs the command to completion. Output beyond the configured bound
// is dropped (counted in a response header) rather than failing the call:
// the exit code is what a build step needs, the log is best effort.
func (s *hostAgentServer) Exec(ctx context.Context, req *connect.Request[pb.ExecRequest]) (*connect.Response[pb.ExecResponse], error) {
	m := req.Msg
	spec, err := execSpec(m.SandboxId, m.Cmd, m.Args, m.TimeoutSec)
	if err != nil {
		return nil, err
	}
	stdout := &boundedBuffer{max: s.o.maxExecOutputBytes}
	stderr := &boundedBuffer{max: s.o.maxExecOutputBytes}
	code, err := s.b.Exec(ctx, m.SandboxId, spec, stdout, stderr, nil)
	if err != nil {
		return nil, connectError(err)
	}
	resp := connect.NewResponse(&pb.ExecResponse{
		Stdout:   stdout.Bytes(),
		Stderr:   stderr.Bytes(),
		ExitCode: int32(code),
	})
	if n := stdout.Dropped(); n > 0 {
		resp.Header().Set("Wrenn-Stdout-Dropped", strconv.FormatInt(n, 10))
	}
	if n := stderr.Dropped(); n > 0 {
		resp.Header().Set("Wrenn-Stderr-Dropped", strconv.FormatInt(n, 10))
	}
	return resp, nil
}

// boundedBuffer keeps the first max bytes written to it and counts the rest.
type boundedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	max     int
	dropped int64
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.max - b.buf.Len()
	if room < 0 {
		room = 0
	}
	keep := min(room, len(p))
	b.buf.Write(p[:keep])
	b.dropped += int64(len(p) - keep)
	return len(p), nil
}

func (b *boundedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *boundedBuffer) Dropped() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// ExecStream sends start, then data events as the backend writes output,
// then end. A request the backend rejects before the command starts (no such
// sandbox, bad path) fails the call with the mapped code instead, so a
// client handles it like any other error. The call's context is the
// command's: a client that goes away kills the command.
func (s *hostAgentServer) ExecStream(ctx context.Context, req *connect.Request[pb.ExecStreamRequest], stream *connect.ServerStream[pb.ExecStreamResponse]) error {
	m := req.Msg
	spec, err := execSpec(m.SandboxId, m.Cmd, m.Args, m.TimeoutSec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ev := &eventSender{stream: stream, cancel: cancel}
	code, err := s.b.Exec(ctx, m.SandboxId, spec, ev.writer(false), ev.writer(true), ev.start)
	ev.mu.Lock()
	defer func() {
		// A pending hold timer must not send after the call returns.
		ev.started = true
		if ev.timer != nil {
			ev.timer.Stop()
		}
		ev.mu.Unlock()
	}()
	if ev.err != nil { // the client went away
		return connect.NewError(connect.CodeCanceled, ev.err)
	}
	if err != nil && !ev.started && len(ev.pending) == 0 {
		return connectError(err)
	}
	if err != nil && errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, err)
	}
	ev.sendStartLocked(0)
	end := &pb.ExecStreamEnd{ExitCode: int32(code)}
	if err != nil {
		end.ExitCode = -1
		end.Error = err.Error()
	}
	if err := stream.Send(&pb.ExecStreamResponse{Event: &pb.ExecStreamResponse_End{End: end}}); err != nil {
		return connect.NewError(connect.CodeCanceled, err)
	}
	return nil
}

// startWait is how long output that arrives before the backend reports the
// pid is held back, so that the start event can carry the pid (a backend
// may learn the pid a little after the process starts writing).
const startWait = 100 * time.Millisecond

// eventSender serialises the backend's concurrent stdout/stderr writes and
// the start callback onto one stream, keeping start first.
type eventSender struct {
	mu      sync.Mutex
	stream  *connect.ServerStream[pb.ExecStreamResponse]
	cancel  context.CancelFunc
	started bool
	pending []*pb.ExecStreamData // output that came before the pid
	held    int                  // bytes in pending
	timer   *time.Timer
	err     error // the first send error: the client is gone
}

func (e *eventSender) start(pid int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sendStartLocked(pid)
}

// sendStartLocked sends the start event (once) and then any held output.
func (e *eventSender) sendStartLocked(pid int) {
	if e.started {
		return
	}
	e.started = true
	if e.timer != nil {
		e.timer.Stop()
	}
	e.sendLocked(&pb.ExecStreamResponse{Event: &pb.ExecStreamResponse_Start{Start: &pb.ExecStreamStart{Pid: uint32(max(pid, 0))}}})
	for _, d := range e.pending {
		e.sendLocked(&pb.ExecStreamResponse{Event: &pb.ExecStreamResponse_Data{Data: d}})
	}
	e.pending, e.held = nil, 0
}

func (e *eventSender) sendLocked(msg *pb.ExecStreamResponse) {
	if e.err != nil {
		return
	}
	if err := e.stream.Send(msg); err != nil {
		e.err = err
		e.cancel() // stop the command: nobody reads its output
	}
}

type streamWriter struct {
	e      *eventSender
	stderr bool
}

func (e *eventSender) writer(stderr bool) streamWriter { return streamWriter{e, stderr} }

func (w streamWriter) Write(p []byte) (int, error) {
	e := w.e
	e.mu.Lock()
	defer e.mu.Unlock()
	for rest := p; len(rest) > 0 && e.err == nil; {
		n := min(len(rest), maxChunkBytes)
		data := &pb.ExecStreamData{}
		chunk := rest[:n]
		if !e.started {
			chunk = bytes.Clone(chunk) // held past this call
		}
		if w.stderr {
			data.Output = &pb.ExecStreamData_Stderr{Stderr: chunk}
		} else {
			data.Output = &pb.ExecStreamData_Stdout{Stdout: chunk}
		}
		rest = rest[n:]
		if !e.started {
			e.pending = append(e.pending, data)
			e.held += n
			if e.held >= maxChunkBytes {
				e.sendStartLocked(0) // do not hold much: send without the pid
			} else if e.timer == nil {
				e.timer = time.AfterFunc(startWait, func() { e.start(0) })
			}
			continue
		}
		e.sendLocked(&pb.ExecStreamResponse{Event: &pb.ExecStreamResponse_Data{Data: data}})
	}
	if e.err != nil {
		return 0, e.err
	}
	return len(p), nil
}
