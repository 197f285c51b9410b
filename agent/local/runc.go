package local

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// runtimeCmd builds an invocation of the OCI runtime (runc or crun) on
// this backend's own --root, logging the runtime's own errors as JSON to
// logFile ("" : none).
func (b *Backend) runtimeCmd(logFile string, args ...string) *exec.Cmd {
	full := []string{"--root", b.runtimeRoot()}
	if logFile != "" {
		full = append(full, "--log", logFile, "--log-format", "json")
	}
	return exec.Command(b.rt.path, append(full, args...)...)
}

// runtimeRunCmd is runtimeCmd for `run`, the call that makes a container
// and its cgroups. On a hybrid cgroup host that crun refuses (see
// needHideUnified) it runs crun in a private mount namespace without the
// cgroup v2 mount: Go's clone unshares the namespace (and makes its mounts
// private, so nothing reaches the host), the host's static busybox sh
// unmounts /sys/fs/cgroup/unified there and becomes crun. The container's
// own mount namespace is made from that one; its cgroups are the v1 ones.
func (b *Backend) runtimeRunCmd(logFile string, args ...string) *exec.Cmd {
	cmd := b.runtimeCmd(logFile, args...)
	if !b.rt.hideUnified {
		return cmd
	}
	script := shellQuote(b.busybox) + " umount /sys/fs/cgroup/unified; exec \"$0\" \"$@\""
	wrapped := exec.Command(b.busybox, append([]string{"sh", "-c", script}, cmd.Args...)...)
	wrapped.SysProcAttr = &unix.SysProcAttr{Unshareflags: unix.CLONE_NEWNS}
	return wrapped
}

// runtimeError returns the last error the runtime logged to logFile. runc
// and crun both write one JSON object a line ({"level","msg","time"});
// their warnings are not errors.
func runtimeError(logFile string) string {
	data, err := os.ReadFile(logFile)
	if err != nil {
		return ""
	}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var e struct{ Level, Msg string }
		if json.Unmarshal(sc.Bytes(), &e) == nil && (e.Level == "error" || e.Level == "fatal") {
			last = e.Msg
		}
	}
	return last
}

// startContainer runs the sandbox's long-lived container detached and
// returns a pidfd of its init (-1 if the kernel has none). Its stdio is
// /dev/null, so no pipe outlives runc.
func (b *Backend) startContainer(sb *sandbox) (int, error) {
	logFile := filepath.Join(sb.dir, "runc-run.log")
	pidFile := filepath.Join(sb.dir, "init.pid")
	_ = os.Remove(logFile)
	cmd := b.runtimeRunCmd(logFile, "run", "-d", "--pid-file", pidFile, "--bundle", sb.bundle(), sb.ctrID())
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return -1, err
	}
	defer devnull.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.Dir = sb.bundle()
	if err := cmd.Run(); err != nil {
		msg := runtimeError(logFile)
		if msg == "" {
			msg = err.Error()
		}
		_ = b.deleteContainer(sb.ctrID())
		return -1, fmt.Errorf("start sandbox %s: %s: %s", sb.id, b.rt.name, msg)
	}
	// the init runs the reaper loop until killed, so the pid is still its
	fd := -1
	if pid := readPidFile(pidFile); pid > 0 {
		if f, err := unix.PidfdOpen(pid, 0); err == nil {
			fd = f
		}
	}
	return fd, nil
}

// stopContainerInit ends a running container whose init's pidfd is fd:
// SIGKILL to the init (the kernel then kills its whole pid namespace), a
// wait for it to exit, and a plain `delete` of the stopped container.
// `runc delete --force` of a running container would poll for ~100 ms
// after its kill; it remains the fallback without a pidfd.
func (b *Backend) stopContainerInit(ctrID string, fd int) error {
	if fd < 0 {
		return b.deleteContainer(ctrID)
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err == nil || err == unix.ESRCH {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			n, err := unix.Poll(fds, 1000)
			if n > 0 || (err != nil && err != unix.EINTR) {
				break
			}
		}
		if err := b.runtimeCmd("", "delete", ctrID).Run(); err == nil || !b.containerExists(ctrID) {
			_ = os.RemoveAll(filepath.Join(b.runtimeRoot(), ctrID))
			return nil
		}
	}
	return b.deleteContainer(ctrID)
}

// deleteContainer kills every process of the container and removes it and
// its cgroup. A container that does not exist is not an error.
func (b *Backend) deleteContainer(ctrID string) error {
	if !b.containerExists(ctrID) {
		return nil
	}
	out, err := b.runtimeCmd("", "delete", "--force", ctrID).CombinedOutput()
	if err != nil && b.containerExists(ctrID) && !strings.Contains(string(out), "does not exist") {
		return fmt.Errorf("%s delete %s: %s", b.rt.name, ctrID, strings.TrimSpace(string(out)))
	}
	// state dirs of containers that never started fully
	_ = os.RemoveAll(filepath.Join(b.runtimeRoot(), ctrID))
	return nil
}

// containerExists reports whether the runtime has state for ctrID: runc
// and crun both keep a container's in <--root>/<id>/ (and say "does not
// exist" and "cannot open directory … No such file or directory" when it
// is missing).
func (b *Backend) containerExists(ctrID string) bool {
	_, err := os.Lstat(filepath.Join(b.runtimeRoot(), ctrID))
	return err == nil
}

// listContainers lists the container ids in the runtime's state root.
func (b *Backend) listContainers() ([]string, error) {
	ents, err := os.ReadDir(b.runtimeRoot())
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// containerPid returns the host pid of the container's init (0 if none).
func (b *Backend) containerPid(ctrID string) int {
	out, err := b.runtimeCmd("", "state", ctrID).Output()
	if err != nil {
		return 0
	}
	var st struct {
		Pid    int    `json:"pid"`
		Status string `json:"status"`
	}
	if json.Unmarshal(out, &st) != nil || st.Status != "running" {
		return 0
	}
	return st.Pid
}

// cgroupDirs lists the sandbox cgroup parent's directory in every mounted
// hierarchy.
func (b *Backend) cgroupDirs() []string {
	var out []string
	for _, mp := range cgroupMounts() {
		d := filepath.Join(mp, b.cgName)
		if _, err := os.Stat(d); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// removeCgroupParent removes the per-root cgroup parent and anything left
// in it, killing stray processes first.
func (b *Backend) removeCgroupParent() {
	for _, d := range b.cgroupDirs() {
		_ = removeCgroup(d)
	}
}

// removeCgroup removes a cgroup directory tree bottom-up.
func removeCgroup(dir string) error {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() {
			_ = removeCgroup(filepath.Join(dir, e.Name()))
		}
	}
	var err error
	for i := 0; i < 50; i++ {
		if err = unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if procs, rerr := os.ReadFile(filepath.Join(dir, "cgroup.procs")); rerr == nil {
			for _, f := range strings.Fields(string(procs)) {
				var pid int
				if _, serr := fmt.Sscan(f, &pid); serr == nil && pid > 0 {
					_ = unix.Kill(pid, unix.SIGKILL)
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}
