package local

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultRuntime is the OCI runtime a backend uses unless Options.Runtime
// names another.
const DefaultRuntime = "runc"

// Runtimes are the OCI runtimes the backend knows how to drive.
var Runtimes = []string{"runc", "crun"}

// ociRuntime is the OCI runtime binary the backend runs containers with.
type ociRuntime struct {
	path    string // absolute path of the binary
	name    string // "runc" or "crun"
	version string // the first line of its --version
	// hideUnified: run `run` in a private mount namespace without
	// /sys/fs/cgroup/unified (see needHideUnified)
	hideUnified bool
}

// lookRuntime resolves name to the binary's absolute path, without running
// it; the name is the binary's own ("runc" or "crun") when it is one of
// those, else empty until probeRuntime has asked.
func lookRuntime(name string) (ociRuntime, error) {
	if name == "" {
		name = DefaultRuntime
	}
	path := name
	if !strings.Contains(name, "/") {
		p, err := exec.LookPath(name)
		if err != nil {
			return ociRuntime{}, fmt.Errorf("local backend: OCI runtime %q not found on PATH (install it, e.g. apt-get install %s, or give its path)", name, name)
		}
		path = p
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return ociRuntime{}, err
	}
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		if err == nil {
			err = errors.New("not an executable file")
		}
		return ociRuntime{}, fmt.Errorf("local backend: OCI runtime %s: %w", name, err)
	}
	rt := ociRuntime{path: path}
	for _, known := range Runtimes {
		if filepath.Base(path) == known {
			rt.name = known
		}
	}
	return rt, nil
}

// probeRuntime runs `path --version` and checks what it says.
func probeRuntime(name, path string) (ociRuntime, error) {
	if name == "" {
		name = DefaultRuntime
	}
	var err error
	var out, errb bytes.Buffer
	cmd := exec.Command(path, "--version")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return ociRuntime{}, fmt.Errorf("local backend: OCI runtime %s: `%s --version` failed: %s", name, path, msg)
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	first = strings.TrimSpace(first)
	rt := ociRuntime{path: path, version: first}
	for _, known := range Runtimes {
		if strings.HasPrefix(first, known+" version ") {
			rt.name = known
		}
	}
	if rt.name == "" {
		return ociRuntime{}, fmt.Errorf("local backend: OCI runtime %s: `%s --version` says %q; want runc or crun", name, path, first)
	}
	if rt.name == "crun" {
		rt.hideUnified, err = needHideUnified("/sys/fs/cgroup")
		if err != nil {
			return ociRuntime{}, fmt.Errorf("local backend: crun: %w", err)
		}
	}
	return rt, nil
}

// needHideUnified reports whether crun must not see the cgroup v2 mount of
// a hybrid host (cgroup v1 hierarchies on a tmpfs at dir, v2 at
// dir/unified). crun refuses such a host outright ("cgroups in hybrid mode
// not supported, drop all controllers from cgroupv2") when the v2
// hierarchy holds any controller, even for a container that asks for no
// cgroup; a host with only some controllers mounted as v1 (hugetlb is the
// usual one left over) is such a host. Without the v2 mount crun sees a
// plain v1 host and puts its containers in the v1 hierarchies, where runc
// on the same host sets the limits too.
func needHideUnified(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		return false, nil // cgroup v2 only, or no cgroups mounted
	}
	unified := filepath.Join(dir, "unified")
	if err := unix.Statfs(unified, &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		return false, nil // cgroup v1 only
	}
	ctrls, err := os.ReadFile(filepath.Join(unified, "cgroup.controllers"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	return len(bytes.TrimSpace(ctrls)) > 0, nil
}

// String names the runtime for messages: "crun 1.8.1 (/usr/bin/crun)".
func (rt ociRuntime) String() string {
	v := strings.TrimPrefix(rt.version, rt.name+" version ")
	return fmt.Sprintf("%s %s (%s)", rt.name, v, rt.path)
}
