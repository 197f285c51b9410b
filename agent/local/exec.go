package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"wrenn.dev/wrenn/agent"
)

// TimeoutExitCode is what a command that ran out of time returns, as
// timeout(1) does.
const TimeoutExitCode = 124

// outputGrace is how long Exec waits, after the command ends, for output
// from background processes that still hold its stdout or stderr.
const outputGrace = 200 * time.Millisecond

// Exec runs the command as root in the sandbox. While the sandbox has no
// process that must outlive an exec (no START), the command is the only
// job of a fresh one-shot container on the sandbox's rootfs (execOnce):
// when it ends, everything it started ends too. A START command, and every
// command after it while its process lives, runs in the sandbox's
// long-lived container with `runc exec` (execInContainer).
//
// Either way: a timeout (or a cancelled ctx, or a destroy) kills the
// command and all its descendants, then returns exit code 124 (or ctx's
// error) with a note on stderr; a command that cannot be started returns
// 127 (not found) or 126 (not executable) like a shell; started gets the
// command's pid in the sandbox.
func (b *Backend) Exec(ctx context.Context, id string, req agent.ExecSpec, stdout, stderr io.Writer, started func(pid int)) (int, error) {
	if req.Cmd == "" {
		return -1, fmt.Errorf("exec: cmd is empty: %w", errInvalid)
	}
	sb, err := b.shared(id)
	if err != nil {
		return -1, err
	}
	defer sb.mu.RUnlock()
	if isStartCommand(req) {
		sb.startMu.Lock()
		sb.starts = append(sb.starts, startSpec{Cmd: req.Cmd, Args: req.Args})
		sb.startMu.Unlock()
	}
	return b.exec(ctx, sb, req, stdout, stderr, started)
}

// isStartCommand recognises the executor's START form: a shell line that
// puts a nohup'ed process in the background, as root (`… nohup /bin/sh -c
// '…' >/dev/null 2>&1 &`) or wrapped for a user (`su 'U' -s /bin/sh -c
// '… &'`). A RUN line of that shape counts too: its process outlives the
// exec as it would in a memory snapshot.
func isStartCommand(req agent.ExecSpec) bool {
	line := req.Cmd + " " + strings.Join(req.Args, " ")
	return strings.Contains(line, "nohup ") && strings.HasSuffix(strings.TrimRight(line, "' \t\n"), "&")
}

// exec runs req in sb; the caller holds sb.mu shared.
func (b *Backend) exec(ctx context.Context, sb *sandbox, req agent.ExecSpec, stdout, stderr io.Writer, started func(pid int)) (int, error) {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if started == nil {
		started = func(int) {}
	}
	if isStartCommand(req) || sb.containerRunning() {
		return b.execInContainer(ctx, sb, req, stdout, stderr, started)
	}
	return b.execOnce(ctx, sb, req, stdout, stderr, started)
}

// runcProc is one runc invocation that runs a command in a sandbox, as
// waitProc sees it.
type runcProc struct {
	cmd    *exec.Cmd
	done   chan error    // cmd.Wait's result
	exited chan struct{} // closed when runc has exited
	// pids delivers the command's pid in the sandbox once it is known and
	// is closed, at the latest, soon after runc exits.
	pids <-chan int
	// kill ends the command and every process it started; done is still
	// to be received.
	kill func()
}

// outcome is how a runc process ended.
type outcome struct {
	code      int  // runc's exit code (valid unless err or a kill)
	pid       int  // the pid reported through started, 0 if none
	timedOut  bool // killed at req.Timeout
	cancelled bool // killed for ctx
	destroyed bool // killed because the sandbox is going away
	err       error
	// noStart: runc may have failed to start the command (its log says why)
	noStart bool
}

// waitProc waits for p, reporting its pid through started, and kills it on
// timeout, ctx cancellation or the sandbox's destruction.
func waitProc(ctx context.Context, sb *sandbox, p *runcProc, timeout time.Duration, started func(int)) outcome {
	var timeoutC <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timeoutC = t.C
	}
	var o outcome
	var waitErr error
	pids := p.pids
loop:
	for {
		select {
		case waitErr = <-p.done:
			break loop
		case pid, ok := <-pids:
			pids = nil
			if ok && pid > 0 {
				o.pid = pid
				started(pid)
			}
		case <-timeoutC:
			o.timedOut = true
			p.kill()
			waitErr = <-p.done
			break loop
		case <-ctx.Done():
			o.cancelled = true
			p.kill()
			waitErr = <-p.done
			break loop
		case <-sb.dying:
			o.destroyed = true
			p.kill()
			waitErr = <-p.done
			break loop
		}
	}
	if pids != nil {
		// the pid may have been reported just before the process ended
		if pid, ok := <-pids; ok && pid > 0 {
			o.pid = pid
			started(pid)
		}
	}
	var ee *exec.ExitError
	switch {
	case waitErr == nil, errors.Is(waitErr, exec.ErrWaitDelay):
		o.code = p.cmd.ProcessState.ExitCode()
	case errors.As(waitErr, &ee):
		o.code = ee.ExitCode()
	default:
		o.err = waitErr
	}
	return o
}

// result turns an outcome into Exec's return values; runcLog is the log of
// the runtime (rtName), for the reason a process never started.
func (o outcome) result(ctx context.Context, sb *sandbox, req agent.ExecSpec, stderr io.Writer, rtName, runcLog string) (int, error) {
	switch {
	case o.cancelled:
		return -1, ctx.Err()
	case o.destroyed:
		return -1, fmt.Errorf("exec: sandbox %q was destroyed: %w", sb.id, errNotFound)
	case o.timedOut:
		fmt.Fprintf(stderr, "\nwrenn: command timed out after %s; killed it and its child processes\n", req.Timeout)
		return TimeoutExitCode, nil
	case o.err != nil:
		return -1, fmt.Errorf("exec: %w", o.err)
	}
	if o.noStart {
		// the runtime could not start the process: say why, shell-style
		if msg := runtimeError(runcLog); msg != "" {
			// runc: `exec: "x": executable file not found in $PATH`;
			// crun: "executable file `x` not found in $PATH: No such
			// file or directory"
			low := strings.ToLower(msg)
			switch {
			case strings.Contains(low, "executable file") && strings.Contains(low, "not found") || strings.Contains(low, "no such file or directory"):
				fmt.Fprintf(stderr, "%s: command not found\n", req.Cmd)
				return 127, nil
			case strings.Contains(low, "permission denied"):
				fmt.Fprintf(stderr, "%s: permission denied\n", req.Cmd)
				return 126, nil
			}
			return -1, fmt.Errorf("exec in sandbox %s: %s: %s", sb.id, rtName, msg)
		}
	}
	return o.code, nil
}
