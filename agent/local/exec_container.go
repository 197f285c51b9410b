package local

import (
	"context"
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

// execInContainer runs req with `runc exec` (or `crun exec`) in the
// sandbox's long-lived container (started if needed), so background
// processes outlive the exec. The process gets a session of its own (runc
// makes it the leader; crun makes the session in an intermediate process
// that exits); a kill takes that session and all its descendants. The
// caller holds sb.mu shared.
func (b *Backend) execInContainer(ctx context.Context, sb *sandbox, req agent.ExecSpec, stdout, stderr io.Writer, started func(int)) (int, error) {
	// a command that cannot run is answered here, as in a one-shot
	// container: the same 126 and 127 under both runtimes, and no failed
	// `crun exec`, which leaves a zombie in the container's pid namespace
	// for the host's init to reap (stopping the container waits for that)
	if _, code, err := b.findCommand(sb, req.Cmd, stderr); err != nil || code != 0 {
		return code, err
	}
	if err := b.ensureRunning(sb); err != nil {
		return -1, err
	}
	tag := randomHex(6)
	pidFile := filepath.Join(sb.dir, "exec-"+tag+".pid")
	logFile := filepath.Join(sb.dir, "exec-"+tag+".log")
	defer os.Remove(pidFile)
	defer os.Remove(logFile)
	args := append([]string{"exec", "--cwd", "/", "--pid-file", pidFile, sb.ctrID(), req.Cmd}, req.Args...)
	cmd := b.runtimeCmd(logFile, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	p, err := startRunc(cmd)
	if err != nil {
		return -1, fmt.Errorf("exec: %w", err)
	}
	pids := make(chan int, 1)
	go pollPidFile(pidFile, p.exited, pids)
	p.pids = pids
	p.kill = func() { killSession(pidFile, p.exited) }
	o := waitProc(ctx, sb, p, req.Timeout, started)
	o.noStart = o.pid == 0 && o.code == 255
	return o.result(ctx, sb, req, stderr, b.rt.name, logFile)
}

// startRunc starts a runc command that runs a sandbox process: in its own
// process group, so that signals to the agent's group (a terminal's ^C) do
// not reach it, with output grace for background holders of its pipes.
func startRunc(cmd *exec.Cmd) (*runcProc, error) {
	cmd.WaitDelay = outputGrace
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &unix.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &runcProc{cmd: cmd, done: make(chan error, 1), exited: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		close(p.exited)
		p.done <- err
	}()
	return p, nil
}

// pollPidFile sends the sandbox pid of the process whose host pid runc
// writes to pidFile, then closes pids; it gives up when runc has exited.
func pollPidFile(pidFile string, exited <-chan struct{}, pids chan<- int) {
	defer close(pids)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if pid := readPidFile(pidFile); pid != 0 {
			pids <- sandboxPid(pid)
			return
		}
		select {
		case <-exited:
			if pid := readPidFile(pidFile); pid != 0 {
				pids <- sandboxPid(pid)
			}
			return
		case <-tick.C:
		}
	}
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

// waitPidFile returns the pid runc writes to pidFile, waiting up to a
// second for it; 0 if runc exits first (the process never started).
func waitPidFile(pidFile string, exited <-chan struct{}) int {
	for i := 0; i < 500; i++ {
		if pid := readPidFile(pidFile); pid != 0 {
			return pid
		}
		select {
		case <-exited:
			return readPidFile(pidFile)
		case <-time.After(2 * time.Millisecond):
		}
	}
	return 0
}

// killSession kills the exec'd process's session and every descendant,
// repeating until none is left (a fork may race a round).
func killSession(pidFile string, exited <-chan struct{}) {
	pid := waitPidFile(pidFile, exited)
	if pid == 0 {
		return
	}
	for round := 0; round < 20; round++ {
		victims := sessionTree(pid)
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
// from leader (host pids), from a scan of /proc. (Under runc the leader
// leads its session; under crun the session's leader is gone.) A session
// the agent itself is in is not leader's own: then only leader and its
// descendants count.
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
	sid := leader
	if p, ok := procs[leader]; ok {
		sid = p.sid
	}
	if own, err := unix.Getsid(0); sid <= 1 || err == nil && sid == own {
		sid = leader
	}
	in := map[int]bool{}
	for pid, p := range procs {
		if pid == leader || p.sid == sid {
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
