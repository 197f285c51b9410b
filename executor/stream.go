package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	pb "wrenn.dev/wrenn/proto/hostagent/v1"
)

// execResult is a finished step command: all of its output and its exit.
type execResult struct {
	stdout, stderr []byte
	exit           int
}

// execStep runs script with /bin/sh -c for step, emitting an "output"
// event per chunk as it arrives. Over ExecStream the output is reported
// live; an agent without it gets the unary Exec and the output is reported
// in one event per stream when the command ends. The result keeps the
// whole output either way.
func (b *builder) execStep(ctx context.Context, sandboxID, script string, timeout time.Duration, step int) (execResult, error) {
	if sa, ok := b.req.Agent.(StreamAgent); ok && !b.noStream.Load() {
		res, err := b.execStream(ctx, sa, sandboxID, script, timeout, step)
		if !errors.Is(err, errNoStream) {
			return res, err
		}
		b.noStream.Store(true)
	}
	out, err := b.exec(ctx, sandboxID, script, timeout)
	if err != nil {
		return execResult{}, err
	}
	b.emitOutput(step, "stdout", out.Stdout)
	b.emitOutput(step, "stderr", out.Stderr)
	return execResult{stdout: out.Stdout, stderr: out.Stderr, exit: int(out.ExitCode)}, nil
}

// errNoStream: the agent answers ExecStream with Unimplemented.
var errNoStream = errors.New("agent has no ExecStream")

func (b *builder) execStream(ctx context.Context, sa StreamAgent, sandboxID, script string, timeout time.Duration, step int) (execResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := sa.ExecStream(ctx, connect.NewRequest(&pb.ExecStreamRequest{SandboxId: sandboxID, Cmd: "/bin/sh", Args: []string{"-c", script}, TimeoutSec: timeoutSec(timeout)}))
	if err != nil {
		if isUnimplemented(err) {
			return execResult{}, errNoStream
		}
		return execResult{}, err
	}
	defer stream.Close()
	var res execResult
	var stdout, stderr bytes.Buffer
	var end *pb.ExecStreamEnd
	events := 0
	for stream.Receive() {
		events++
		switch ev := stream.Msg().Event.(type) {
		case *pb.ExecStreamResponse_Data:
			switch o := ev.Data.Output.(type) {
			case *pb.ExecStreamData_Stdout:
				stdout.Write(o.Stdout)
				b.emitOutput(step, "stdout", o.Stdout)
			case *pb.ExecStreamData_Stderr:
				stderr.Write(o.Stderr)
				b.emitOutput(step, "stderr", o.Stderr)
			}
		case *pb.ExecStreamResponse_End:
			end = ev.End
		}
	}
	if err := stream.Err(); err != nil {
		// Connect reports an unknown procedure on the first Receive.
		if events == 0 && isUnimplemented(err) {
			return execResult{}, errNoStream
		}
		return execResult{}, err
	}
	if end == nil {
		return execResult{}, fmt.Errorf("exec stream ended without an end event")
	}
	if end.Error != "" {
		return execResult{}, errors.New(end.Error)
	}
	res.stdout, res.stderr, res.exit = stdout.Bytes(), stderr.Bytes(), int(end.ExitCode)
	return res, nil
}

func (b *builder) emitOutput(step int, stream string, data []byte) {
	if len(data) > 0 && b.req.Events != nil {
		b.emit(Event{Type: "output", Step: step, Stream: stream, Data: string(data)})
	}
}
