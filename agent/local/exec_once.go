package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"

	"wrenn.dev/wrenn/agent"
)

// execOnce runs req as the only job of a fresh container on the sandbox's
// rootfs, with a foreground `runc run`: about what a `runc exec` costs, and
// nothing to tear down afterwards, since runc removes the container when its
// init exits. The caller holds sb.mu shared.
//
// The container's init is the host's static busybox sh (onceScript), which
// runs the command as its child, so the command is not pid 1 of its pid
// namespace (pid 1 ignores signals it has no handler for: `kill -9 $$`
// would not work) and gets exactly the sandbox's environment and argv[0].
// When the command ends, the init exits with its status and the kernel
// kills whatever the command left behind in the namespace, so a timeout,
// a cancel or a destroy only has to kill the init.
func (b *Backend) execOnce(ctx context.Context, sb *sandbox, req agent.ExecSpec, stdout, stderr io.Writer, started func(int)) (int, error) {
	prog, code, err := b.findCommand(sb, req.Cmd, stderr)
	if err != nil || code != 0 {
		return code, err
	}
	tag := randomHex(6)
	bundle := filepath.Join(sb.dir, "once-"+tag)
	if err := os.Mkdir(bundle, 0o700); err != nil {
		return -1, err
	}
	defer os.RemoveAll(bundle)
	spec := b.containerSpec(sb)
	spec.Process.Args = append([]string{busyboxInContainer, "sh", "-c", onceScript(sb.env), "wrenn-exec", prog, req.Cmd}, req.Args...)
	spec.Linux.CgroupsPath = "/" + b.cgName + "/" + sb.key + "-" + tag
	data, err := json.Marshal(spec)
	if err != nil {
		return -1, err
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
		return -1, err
	}
	pidFile := filepath.Join(bundle, "init.pid")
	logFile := filepath.Join(bundle, "runc.log")
	ctrID := sb.ctrID() + "-" + tag
	// the command reports its own pid (in the sandbox) on fd 3
	pr, pw, err := os.Pipe()
	if err != nil {
		return -1, err
	}
	cmd := b.runtimeRunCmd(logFile, "run", "--bundle", bundle, "--pid-file", pidFile, "--preserve-fds", "1", ctrID)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.ExtraFiles = []*os.File{pw}
	p, err := startRunc(cmd)
	pw.Close()
	if err != nil {
		pr.Close()
		return -1, fmt.Errorf("exec: %w", err)
	}
	pids := make(chan int, 1)
	go readReportedPid(pr, pids)
	p.pids = pids
	p.kill = func() {
		// the init is pid 1 of the container's pid namespace: when it
		// dies the kernel kills every process in the namespace
		if pid := waitPidFile(pidFile, p.exited); pid != 0 {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	o := waitProc(ctx, sb, p, req.Timeout, started)
	o.noStart = o.pid == 0 && o.code != 0
	if o.err != nil || o.noStart {
		// runc did not get to remove what it made
		_ = b.deleteContainer(ctrID)
		for _, d := range b.cgroupDirs() {
			_ = removeCgroup(filepath.Join(d, sb.key+"-"+tag))
		}
	}
	return o.result(ctx, sb, req, stderr, b.rt.name, logFile)
}

// onceScript is the one-shot container's init: busybox sh, which sets
// PWD and SHLVL in the environment it passes on, puts them back as the
// sandbox has them and keeps its own stderr quiet (it would say "Killed"
// for a killed command); a subshell reports its pid on fd 3, takes back
// stderr, closes the extra fds and becomes the command (exec -a keeps the
// caller's argv[0]); the init waits for it and exits with its status
// (128+n for a signal, as runc exec).
// The `exit` keeps the subshell from being run in place as pid 1.
// Arguments: the command's path in the sandbox, its argv[0], its arguments.
func onceScript(env []string) string {
	var sb strings.Builder
	for _, name := range []string{"PWD", "SHLVL"} {
		v, ok := envValue(env, name)
		if ok {
			fmt.Fprintf(&sb, "export %s=%s; ", name, shellQuote(v))
		} else {
			fmt.Fprintf(&sb, "unset %s; ", name)
		}
	}
	sb.WriteString(`exec 4>&2 2>/dev/null; (read p _ </proc/self/stat; echo "$p" >&3; exec 2>&4 3>&- 4>&-; p=$1 n=$2; shift 2; exec -a "$n" "$p" "$@"); exit $?`)
	return sb.String()
}

// envValue looks name up in a KEY=VALUE list.
func envValue(env []string, name string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// shellQuote single-quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// readReportedPid sends the pid the command writes on its first line, then
// closes pids; nothing is sent if the command never got that far.
func readReportedPid(r *os.File, pids chan<- int) {
	defer close(pids)
	defer r.Close()
	line, _ := bufio.NewReaderSize(io.LimitReader(r, 32), 32).ReadString('\n')
	if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && pid > 0 {
		pids <- pid
	}
}

// findCommand is lookCommand that, for a command that cannot run, writes
// a shell's note to stderr and returns its exit code (127 or 126).
func (b *Backend) findCommand(sb *sandbox, cmd string, stderr io.Writer) (string, int, error) {
	prog, code, err := b.lookCommand(sb, cmd)
	if err != nil {
		return "", -1, err
	}
	if code != 0 {
		what := "command not found"
		if code == 126 {
			what = "permission denied"
		}
		fmt.Fprintf(stderr, "%s: %s\n", cmd, what)
	}
	return prog, code, nil
}

// lookCommand finds the program cmd names in the sandbox as runc would (Go's
// exec.LookPath in the container: a name with a slash as is, relative to /;
// else the first executable in the sandbox's PATH), resolving symlinks
// inside the rootfs. It returns the path in the sandbox, or exit code 127
// (not found) or 126 (not executable).
func (b *Backend) lookCommand(sb *sandbox, cmd string) (string, int, error) {
	root, err := os.Open(sb.merged())
	if err != nil {
		return "", 0, err
	}
	defer root.Close()
	if strings.Contains(cmd, "/") {
		p := path.Join("/", cmd)
		switch err := executableIn(root, p); {
		case err == nil:
			return p, 0, nil
		case errors.Is(err, os.ErrPermission):
			return "", 126, nil
		}
		return "", 127, nil
	}
	pathEnv, _ := envValue(sb.env, "PATH")
	for _, dir := range filepath.SplitList(pathEnv) {
		p := path.Join("/", dir, cmd)
		if executableIn(root, p) == nil {
			return p, 0, nil
		}
	}
	return "", 127, nil
}

// executableIn reports whether p (resolved inside root) is a file with an
// execute bit: nil, os.ErrPermission (a directory or no x bit), or the
// lookup's error.
func executableIn(root *os.File, p string) error {
	h, err := pathrs.OpenatInRoot(root, p)
	if err != nil {
		return err
	}
	defer h.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR || st.Mode&0o111 == 0 {
		return os.ErrPermission
	}
	return nil
}
