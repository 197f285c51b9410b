package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"wrenn.dev/wrenn/agent/local"
)

// newLocal opens the real local backend on a fresh root with a busybox base
// named "minimal". The caller closes it and checks for leaks.
func newLocal(tb testing.TB) (*local.Backend, string) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Fatal("end-to-end agent tests need root (runc, overlayfs, mounts); CI runs them as root")
	}
	root := filepath.Join(tb.TempDir(), "root")
	b, err := local.New(local.Options{Root: root})
	if err != nil {
		tb.Fatal(err)
	}
	// Close is idempotent: this cleanup only matters when a test fails
	// before closing it itself.
	tb.Cleanup(func() { b.Close(context.Background()) })
	if _, err := b.BootstrapBase(context.Background(), "minimal", local.FromBusybox, nil); err != nil {
		tb.Fatal(err)
	}
	return b, root
}

// leaks lists what the backend under root left behind: mounts, runc
// containers and sandbox cgroups.
func leaks(tb testing.TB, root string) []string {
	tb.Helper()
	var out []string
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], root+"/") {
			out = append(out, "mount "+fields[4])
		}
	}
	runcRoot := filepath.Join(root, "runc")
	if _, err := os.Stat(runcRoot); err == nil {
		ids, err := exec.Command("runc", "--root", runcRoot, "list", "-q").Output()
		if err != nil {
			tb.Fatalf("runc list: %v", err)
		}
		for _, id := range strings.Fields(string(ids)) {
			out = append(out, "container "+id)
		}
	}
	h := sha256.Sum256([]byte(root))
	cg := "wrenn-" + hex.EncodeToString(h[:4])
	for _, pattern := range []string{"/sys/fs/cgroup/" + cg + "/*", "/sys/fs/cgroup/*/" + cg + "/*"} {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.IsDir() {
				out = append(out, "cgroup "+m)
			}
		}
	}
	return out
}

// hostProcesses lists host pids whose command line contains marker.
func hostProcesses(marker string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), []byte(marker)) {
			out = append(out, filepath.Base(d)+": "+string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
		}
	}
	return out
}
