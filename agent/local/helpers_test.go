package local

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wrenn.dev/wrenn/agent"
)

// newTestBackend returns a Backend on a fresh root with a busybox base named
// "minimal", closed (and checked for leaks) at the end of the test.
func newTestBackend(t testing.TB) *Backend {
	t.Helper()
	return newTestBackendWith(t, "")
}

// newCrashableBackend opens a backend on a fresh root with the busybox
// base, and returns the root; nothing closes the backend, so a test can
// leave it as a crash would and open the root again.
func newCrashableBackend(t testing.TB, rt string) (*Backend, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the local backend tests need root (runc, crun, overlayfs, mounts)")
	}
	root := filepath.Join(t.TempDir(), "root")
	b, err := New(Options{Root: root, Runtime: rt})
	if err != nil {
		t.Fatalf("%v (scripts/deps.sh installs runc and crun)", err)
	}
	if _, err := b.BootstrapBase(context.Background(), "minimal", FromBusybox, nil); err != nil {
		b.Close(context.Background())
		t.Fatal(err)
	}
	return b, root
}

// newTestBackendWith is newTestBackend with the OCI runtime rt ("": runc).
func newTestBackendWith(t testing.TB, rt string) *Backend {
	t.Helper()
	b, _ := newCrashableBackend(t, rt)
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
		assertNoLeaks(t, b)
	})
	return b
}

// assertNoLeaks checks that nothing of b's is mounted, running or in a
// cgroup.
func assertNoLeaks(t testing.TB, b *Backend) {
	t.Helper()
	mounts, err := mountsUnder(b.root)
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) > 0 {
		t.Errorf("mounts left under %s: %v", b.root, mounts)
	}
	out, err := b.runtimeCmd("", "list", "-q").Output()
	if err != nil {
		t.Fatalf("%s list: %v", b.rt.name, err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("%s containers left: %s", b.rt.name, s)
	}
	for _, d := range b.cgroupDirs() {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if e.IsDir() {
				t.Errorf("cgroup left: %s", filepath.Join(d, e.Name()))
			}
		}
	}
}

// eachRuntime runs fn as a subtest for each OCI runtime the backend
// drives (runc and crun), each with its own backend. It is for the tests
// that exercise how the runtime is invoked: both runtimes are required.
func eachRuntime(t *testing.T, fn func(t *testing.T, b *Backend)) {
	for _, rt := range Runtimes {
		t.Run(rt, func(t *testing.T) { fn(t, newTestBackendWith(t, rt)) })
	}
}

func newSandbox(t testing.TB, b *Backend, spec agent.SandboxSpec) string {
	t.Helper()
	info, err := b.CreateSandbox(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

// run execs a shell line and returns stdout, stderr and the exit code.
func run(t testing.TB, b *Backend, id, line string, timeout time.Duration) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code, err := b.Exec(context.Background(), id, agent.ExecSpec{Cmd: "/bin/sh", Args: []string{"-c", line}, Timeout: timeout}, &out, &errb, nil)
	if err != nil {
		t.Fatalf("exec %q: %v", line, err)
	}
	return out.String(), errb.String(), code
}

// mustRun execs a shell line that must succeed and returns its stdout.
func mustRun(t testing.TB, b *Backend, id, line string) string {
	t.Helper()
	out, errs, code := run(t, b, id, line, time.Minute)
	if code != 0 {
		t.Fatalf("%q: exit %d\nstdout: %s\nstderr: %s", line, code, out, errs)
	}
	return out
}
