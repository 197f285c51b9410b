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

// runcCmd builds a runc invocation on this backend's own --root, logging
// runc's own errors as JSON to logFile ("" : none).
func (b *Backend) runcCmd(logFile string, args ...string) *exec.Cmd {
	full := []string{"--root", b.runcRoot()}
	if logFile != "" {
		full = append(full, "--log", logFile, "--log-format", "json")
	}
	return exec.Command(b.runc, append(full, args...)...)
}

// runcError returns the last error runc logged to logFile.
func runcError(logFile string) string {
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

// startContainer runs the sandbox's long-lived container detached. Its
// stdio is /dev/null, so no pipe outlives runc.
func (b *Backend) startContainer(sb *sandbox) error {
	logFile := filepath.Join(sb.dir, "runc-run.log")
	_ = os.Remove(logFile)
	cmd := b.runcCmd(logFile, "run", "-d", "--bundle", sb.bundle(), sb.ctrID())
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.Dir = sb.bundle()
	if err := cmd.Run(); err != nil {
		msg := runcError(logFile)
		if msg == "" {
			msg = err.Error()
		}
		_ = b.deleteContainer(sb.ctrID())
		return fmt.Errorf("start sandbox %s: runc: %s", sb.id, msg)
	}
	return nil
}

// deleteContainer kills every process of the container and removes it and
// its cgroup. A container that does not exist is not an error.
func (b *Backend) deleteContainer(ctrID string) error {
	out, err := b.runcCmd("", "delete", "--force", ctrID).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "does not exist") {
		return fmt.Errorf("runc delete %s: %s", ctrID, strings.TrimSpace(string(out)))
	}
	// runc state dirs of containers that never started fully
	_ = os.RemoveAll(filepath.Join(b.runcRoot(), ctrID))
	return nil
}

// listContainers lists the container ids in the backend's runc root.
func (b *Backend) listContainers() ([]string, error) {
	ents, err := os.ReadDir(b.runcRoot())
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
	out, err := b.runcCmd("", "state", ctrID).Output()
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
