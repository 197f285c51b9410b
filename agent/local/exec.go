package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"wrenn.dev/wrenn/agent"
)

// TimeoutExitCode is what a command that ran out of time returns, as
// timeout(1) does.
const TimeoutExitCode = 124

// outputGrace is how long Exec waits, after the command ends, for output
// from background processes that still hold its stdout or stderr.
const outputGrace = 200 * time.Millisecond

// Exec runs the command as root in the sandbox's container with `runc
// exec`. runc makes the process a session leader; a timeout (or a cancelled
// ctx) kills that session and all its descendants, then returns exit code
// 124 (or ctx's error) with a note on stderr. A command runc cannot start
// returns 127 (not found) or 126 (not executable) like a shell.
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
// puts a nohup'ed process in the background.
func isStartCommand(req agent.ExecSpec) bool {
	line := req.Cmd + " " + strings.Join(req.Args, " ")
	return strings.Contains(line, "nohup ") && strings.HasSuffix(strings.TrimSpace(line), "&")
}

// exec runs req in sb; the caller holds sb.mu shared.
func (b *Backend) exec(ctx context.Context, sb *sandbox, req agent.ExecSpec, stdout, stderr io.Writer, started func(pid int)) (int, error) {
	if err := b.ensureRunning(sb); err != nil {
		return -1, err
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	tag := randomHex(6)
	pidFile := filepath.Join(sb.dir, "exec-"+tag+".pid")
	logFile := filepath.Join(sb.dir, "exec-"+tag+".log")
	defer os.Remove(pidFile)
	defer os.Remove(logFile)
	args := append([]string{"exec", "--cwd", "/", "--pid-file", pidFile, sb.ctrID(), req.Cmd}, req.Args...)
	cmd := b.runcCmd(logFile, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = outputGrace
	// runc itself in its own process group, so that signals to the agent's
	// group (a terminal's ^C) do not reach it
	cmd.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("exec: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var timeoutC <-chan time.Time
	if req.Timeout > 0 {
		t := time.NewTimer(req.Timeout)
		defer t.Stop()
		timeoutC = t.C
	}
	pid := 0
	pidTick := time.NewTicker(2 * time.Millisecond)
	defer pidTick.Stop()
	var waitErr error
	timedOut, cancelled := false, false
loop:
	for {
		select {
		case waitErr = <-done:
			break loop
		case <-pidTick.C:
			if pid == 0 {
				if pid = readPidFile(pidFile); pid != 0 {
					if started != nil {
						started(sandboxPid(pid))
					}
					pidTick.Reset(time.Hour)
				}
			}
		case <-timeoutC:
			timedOut = true
			b.killSession(pidFile, &pid, done)
			waitErr = <-done
			break loop
		case <-ctx.Done():
			cancelled = true
			b.killSession(pidFile, &pid, done)
			waitErr = <-done
			break loop
		}
	}
	if cancelled {
		return -1, ctx.Err()
	}
	if timedOut {
		fmt.Fprintf(stderr, "\nwrenn: command timed out after %s; killed it and its child processes\n", req.Timeout)
		return TimeoutExitCode, nil
	}
	code := 0
	var ee *exec.ExitError
	switch {
	case waitErr == nil, errors.Is(waitErr, exec.ErrWaitDelay):
		code = cmd.ProcessState.ExitCode()
	case errors.As(waitErr, &ee):
		code = ee.ExitCode()
	default:
		return -1, fmt.Errorf("exec: %w", waitErr)
	}
	if pid == 0 && code == 255 {
		// runc could not start the process: say why, shell-style
		if msg := runcError(logFile); msg != "" {
			switch {
			case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory"):
				fmt.Fprintf(stderr, "%s: command not found\n", req.Cmd)
				return 127, nil
			case strings.Contains(msg, "permission denied"):
				fmt.Fprintf(stderr, "%s: permission denied\n", req.Cmd)
				return 126, nil
			}
			return -1, fmt.Errorf("exec in sandbox %s: runc: %s", sb.id, msg)
		}
	}
	return code, nil
}

func readPidFile(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// sandboxPid maps a host pid to its pid in the sandbox's pid namespace.
func sandboxPid(hostPid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", hostPid))
	if err != nil {
		return hostPid
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(rest)
			if n, err := strconv.Atoi(f[len(f)-1]); err == nil {
				return n
			}
		}
	}
	return hostPid
}

// killSession kills the exec'd process's session and every descendant,
// repeating until none is left (a fork may race a round). It waits for the
// pid file if runc has not written it yet.
func (b *Backend) killSession(pidFile string, pid *int, done chan error) {
	for i := 0; *pid == 0 && i < 500; i++ {
		if *pid = readPidFile(pidFile); *pid == 0 {
			select {
			case err := <-done:
				done <- err // runc ended before the process started
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	if *pid == 0 {
		return
	}
	for round := 0; round < 20; round++ {
		victims := sessionTree(*pid)
		if len(victims) == 0 {
			return
		}
		for _, p := range victims {
			_ = unix.Kill(p, unix.SIGKILL)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sessionTree lists the live processes in leader's session or descended
// from leader (host pids), from a scan of /proc.
func sessionTree(leader int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	type proc struct{ ppid, sid int }
	procs := map[int]proc{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// the command name may hold spaces and parentheses: fields
		// start after the last ')'
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 4 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		sid, _ := strconv.Atoi(f[3])
		procs[pid] = proc{ppid, sid}
	}
	in := map[int]bool{}
	for pid, p := range procs {
		if pid == leader || p.sid == leader {
			in[pid] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for pid, p := range procs {
			if !in[pid] && in[p.ppid] {
				in[pid], changed = true, true
			}
		}
	}
	out := make([]int, 0, len(in))
	for pid := range in {
		out = append(out, pid)
	}
	return out
}
