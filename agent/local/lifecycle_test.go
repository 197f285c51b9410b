package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"wrenn.dev/wrenn/agent"
)

func TestDestroyIsIdempotentAndLeavesNothing(t *testing.T) {
	eachRuntime(t, testDestroyIsIdempotentAndLeavesNothing)
}

func testDestroyIsIdempotentAndLeavesNothing(t *testing.T, b *Backend) {
	ctx := context.Background()
	id := newSandbox(t, b, agent.SandboxSpec{ID: "sb-destroy", MemoryMB: 128})
	if _, _, code := run(t, b, id, "nohup sleep 1000 >/dev/null 2>&1 &", 5*time.Second); code != 0 {
		t.Fatal("start")
	}
	sb, _ := b.get(id)
	pid := b.containerPid(sb.ctrID())
	if pid == 0 {
		t.Fatal("no container")
	}
	list, _ := b.ListSandboxes(ctx)
	if len(list) != 1 || list[0].ID != "sb-destroy" || list[0].Status != "running" {
		t.Errorf("ListSandboxes: %+v", list)
	}
	for i := 0; i < 2; i++ {
		if err := b.DestroySandbox(ctx, id); err != nil {
			t.Fatalf("destroy #%d: %v", i+1, err)
		}
	}
	if err := b.DestroySandbox(ctx, "never-existed"); err != nil {
		t.Errorf("destroy an unknown id: %v", err)
	}
	assertNoLeaks(t, b)
	if _, err := os.Stat(sb.dir); !os.IsNotExist(err) {
		t.Errorf("sandbox directory left: %v", err)
	}
	if err := waitGone(pid); err != nil {
		t.Error(err)
	}
	if list, _ := b.ListSandboxes(ctx); len(list) != 0 {
		t.Errorf("ListSandboxes after destroy: %+v", list)
	}
}

// waitGone waits briefly for a host pid to end. A zombie counts as ended:
// a container's init is reparented to the host's init, whose reaping is
// not ours to wait for (on some VMs it never comes).
func waitGone(pid int) error {
	for i := 0; i < 100; i++ {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if os.IsNotExist(err) || strings.Contains(string(st), "State:\tZ") {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("process %d still runs", pid)
}

func TestNewCleansUpAfterACrash(t *testing.T) {
	for _, rt := range Runtimes {
		t.Run(rt, func(t *testing.T) { testNewCleansUpAfterACrash(t, rt, rt) })
	}
	// a root used with one runtime and opened with the other after a crash
	t.Run("crun-then-runc", func(t *testing.T) { testNewCleansUpAfterACrash(t, "crun", "runc") })
}

// testNewCleansUpAfterACrash crashes a backend on runtime before and
// opens its root again with runtime after.
func testNewCleansUpAfterACrash(t *testing.T, before, after string) {
	b, root := newCrashableBackend(t, before)
	ctx := context.Background()
	keep := newSandbox(t, b, agent.SandboxSpec{})
	mustRun(t, b, keep, "echo kept > /kept")
	layer, err := b.CommitLayer(ctx, keep)
	if err != nil {
		t.Fatal(err)
	}
	id := newSandbox(t, b, agent.SandboxSpec{Layer: layer.ID})
	mustRun(t, b, id, "nohup sleep 1000 >/dev/null 2>&1 &")
	sb, _ := b.get(id)
	pid := b.containerPid(sb.ctrID())
	// half-written things a crash leaves: a layer in tmp/, a layer
	// directory without metadata
	for _, d := range []string{filepath.Join(b.tmpDir(), "lay-half", "diff"), filepath.Join(b.layersDir(), "lay-nometa", "diff")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// crash: the process would die and the kernel drop its flock; the
	// mounts, containers and cgroups stay
	b.lock.Close()

	b2, err := New(Options{Root: root, Runtime: after})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close(ctx)
	assertNoLeaks(t, b2)
	if err := waitGone(pid); err != nil {
		t.Error(err)
	}
	if before != after {
		if _, err := os.Stat(b.runtimeRoot()); !os.IsNotExist(err) {
			t.Errorf("%s's state left: %v", before, err)
		}
	}
	for _, dir := range []string{b2.sandboxesDir(), b2.tmpDir()} {
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%s not emptied: %v", dir, ents)
		}
	}
	if _, err := os.Stat(filepath.Join(b2.layersDir(), "lay-nometa")); !os.IsNotExist(err) {
		t.Errorf("incomplete layer directory kept: %v", err)
	}
	// complete layers survive and work
	from := newSandbox(t, b2, agent.SandboxSpec{Layer: layer.ID})
	if got := mustRun(t, b2, from, "cat /kept"); got != "kept\n" {
		t.Errorf("layer after recovery: %q", got)
	}
}

func TestRootIsLocked(t *testing.T) {
	b := newTestBackend(t)
	_, err := New(Options{Root: b.Root()})
	want := fmt.Sprintf("local backend: root %s is in use by another wrenn agent (pid %d); stop it or use another root", b.Root(), os.Getpid())
	if err == nil || err.Error() != want {
		t.Errorf("second New: %v\nwant: %s", err, want)
	}
}

func TestCgroupLimits(t *testing.T) {
	for _, mode := range execModes {
		t.Run(mode.name, func(t *testing.T) {
			eachRuntime(t, func(t *testing.T, b *Backend) {
				id := newSandbox(t, b, agent.SandboxSpec{MemoryMB: 256, VCPUs: 2})
				mode.setup(t, b, id)
				// the limits of the exec's own cgroup, as the container sees it
				// (cgroup v1 hierarchies, or v2)
				mem := strings.TrimSpace(mustRun(t, b, id, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"))
				if mem != strconv.Itoa(256<<20) {
					t.Errorf("memory limit %q, want %d", mem, 256<<20)
				}
				cpu := strings.TrimSpace(mustRun(t, b, id, "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max"))
				if cpu != "200000" && cpu != "200000 100000" {
					t.Errorf("cpu quota %q, want 2 CPUs", cpu)
				}
				if mode.name == "after START" {
					// and as the host sees it: the long-lived container's
					// cgroup under the backend's parent
					sb, _ := b.get(id)
					found := false
					for _, d := range b.cgroupDirs() {
						for _, f := range []string{"memory.limit_in_bytes", "memory.max"} {
							data, err := os.ReadFile(filepath.Join(d, sb.key, f))
							if err != nil {
								continue
							}
							found = true
							if got := strings.TrimSpace(string(data)); got != strconv.Itoa(256<<20) {
								t.Errorf("%s: %q, want %d", filepath.Join(d, sb.key, f), got, 256<<20)
							}
						}
					}
					if !found {
						t.Errorf("no memory limit file of cgroup %s in %v", sb.key, b.cgroupDirs())
					}
				}
				// the limit holds inside: allocating past it gets the process killed
				_, _, code := run(t, b, id, "head -c 400m /dev/zero | tail -c 1 >/dev/null; dd if=/dev/zero bs=1M count=400 2>/dev/null | sort >/dev/null", time.Minute)
				if code == 0 {
					t.Errorf("a 400 MB sort under a 256 MB limit succeeded")
				}
			})
		})
	}
}

func TestDestroyDuringExecEndsIt(t *testing.T) { eachRuntime(t, testDestroyDuringExecEndsIt) }

func testDestroyDuringExecEndsIt(t *testing.T, b *Backend) {
	ctx := context.Background()
	id := newSandbox(t, b, agent.SandboxSpec{})
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 3)
	for i := 0; i < 3; i++ {
		go func() {
			code, err := b.Exec(ctx, id, agent.ExecSpec{Cmd: "sleep", Args: []string{"300"}}, nil, nil, nil)
			done <- result{code, err}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	if err := b.DestroySandbox(ctx, id); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		select {
		case r := <-done:
			if r.err == nil && r.code == 0 {
				t.Errorf("exec survived the destroy: %+v", r)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("exec still running after destroy")
		}
	}
	assertNoLeaks(t, b)
}

// TestLayersBecomeDurable: a commit does not wait for the disk; the syncer
// clears the layer's unsynced marker soon after, and after a crash New
// drops every layer still marked, with what sits on it.
func TestLayersBecomeDurable(t *testing.T) {
	b, root := newCrashableBackend(t, "")
	ctx := context.Background()
	id := newSandbox(t, b, agent.SandboxSpec{})
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); !strings.Contains(string(mounts), "volatile") {
		t.Errorf("the sandbox's overlay is not volatile:\n%s", mounts)
	}
	mustRun(t, b, id, "echo one > /one")
	l1, err := b.CommitLayer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	marker := func(l agent.LayerInfo) string { return filepath.Join(b.layerDir(l.ID), unsyncedMarker) }
	for i := 0; ; i++ {
		if _, err := os.Stat(marker(l1)); os.IsNotExist(err) {
			break
		}
		if i == 500 {
			t.Fatal("the syncer never cleared the first layer's marker")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mustRun(t, b, id, "echo two > /two")
	l2, err := b.CommitLayer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, b, id, "echo three > /three")
	l3, err := b.CommitLayer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateSnapshot(ctx, id, agent.TemplateRef{Name: "on-l3"}); err != nil {
		t.Fatal(err)
	}
	// a machine crash before the second layer reached the disk: its
	// marker stays, from another boot (or none: an empty one, as a crash
	// may leave it); a layer's metadata (not fsynced) may also come back
	// empty
	b.sync.halt()
	if err := os.WriteFile(marker(l2), []byte("another-boot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(b.layersDir(), "lay-emptymeta")
	if err := os.MkdirAll(filepath.Join(empty, "diff"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(empty, "meta.json"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b.lock.Close()

	b2, err := New(Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close(ctx)
	for _, l := range []agent.LayerInfo{l2, l3} {
		if _, err := b2.Layer(ctx, l.ID); !errors.Is(err, agent.ErrNotFound) {
			t.Errorf("layer %s (depth %d) after the crash: %v, want it gone", l.ID, l.Depth, err)
		}
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("layer with empty metadata kept: %v", err)
	}
	if _, err := b2.Template(ctx, agent.TemplateRef{Name: "on-l3"}); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("snapshot on a lost layer after the crash: %v, want it gone", err)
	}
	from := newSandbox(t, b2, agent.SandboxSpec{Layer: l1.ID})
	if got := mustRun(t, b2, from, "cat /one; ls /two 2>&1 >/dev/null || true"); !strings.HasPrefix(got, "one\n") {
		t.Errorf("from the durable layer: %q", got)
	}
}

// A process that ends (killed, or closed with the sync left to a detached
// process) leaves markers of this boot: the kernel still holds the pages,
// so New keeps those layers and templates and syncs them; a template
// marked in another boot is dropped. Close does not wait for the disk, and
// its detached sync clears the markers.
func TestUnsyncedOfThisBootSurvive(t *testing.T) {
	b, root := newCrashableBackend(t, "")
	ctx := context.Background()
	id := newSandbox(t, b, agent.SandboxSpec{})
	mustRun(t, b, id, "echo one > /one")
	l1, err := b.CommitLayer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateSnapshot(ctx, id, agent.TemplateRef{Name: "snap"}); err != nil {
		t.Fatal(err)
	}
	snap, err := b.Template(ctx, agent.TemplateRef{Name: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	layerMarker := filepath.Join(b.layerDir(l1.ID), unsyncedMarker)
	snapMarker := filepath.Join(b.templateDir(snap.ID), unsyncedMarker)
	for _, m := range []string{layerMarker, snapMarker} {
		if data, err := os.ReadFile(m); err != nil || strings.TrimSpace(string(data)) != bootID() {
			t.Fatalf("marker %s = %q, %v; want this boot's id right after publishing", m, data, err)
		}
	}
	// a kill -9 now: the loop stops, the markers stay
	b.sync.halt()
	b.lock.Close()

	b2, err := New(Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b2.Layer(ctx, l1.ID); err != nil {
		t.Errorf("layer of this boot after a process crash: %v", err)
	}
	if _, err := b2.Template(ctx, agent.TemplateRef{Name: "snap"}); err != nil {
		t.Errorf("snapshot of this boot after a process crash: %v", err)
	}
	waitRemoved(t, layerMarker, snapMarker)

	// a snapshot marked in another boot goes, with nothing else
	id2 := newSandbox(t, b2, agent.SandboxSpec{Layer: l1.ID})
	if _, err := b2.CreateSnapshot(ctx, id2, agent.TemplateRef{Name: "lost"}); err != nil {
		t.Fatal(err)
	}
	lost, err := b2.Template(ctx, agent.TemplateRef{Name: "lost"})
	if err != nil {
		t.Fatal(err)
	}
	b2.sync.halt()
	if err := os.WriteFile(filepath.Join(b2.templateDir(lost.ID), unsyncedMarker), []byte("another-boot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b2.lock.Close()
	b3, err := New(Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b3.Template(ctx, agent.TemplateRef{Name: "lost"}); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("snapshot marked in another boot: %v, want it gone", err)
	}
	if _, err := b3.Layer(ctx, l1.ID); err != nil {
		t.Errorf("the layer under it: %v", err)
	}

	// Close leaves the sync to a detached process, which clears the marker
	id3 := newSandbox(t, b3, agent.SandboxSpec{Layer: l1.ID})
	mustRun(t, b3, id3, "echo two > /two")
	l2, err := b3.CommitLayer(ctx, id3)
	if err != nil {
		t.Fatal(err)
	}
	if err := b3.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitRemoved(t, filepath.Join(b3.layerDir(l2.ID), unsyncedMarker))
}

// waitRemoved waits up to 10 s for every path to disappear.
func waitRemoved(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		for i := 0; ; i++ {
			if _, err := os.Stat(p); os.IsNotExist(err) {
				break
			}
			if i == 1000 {
				t.Fatalf("%s is still there", p)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
