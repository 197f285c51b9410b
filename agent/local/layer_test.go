package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"wrenn.dev/wrenn/agent"
)

func TestCommitAndCreateFromLayer(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	base, err := b.Template(ctx, agent.TemplateRef{Name: "minimal"})
	if err != nil {
		t.Fatal(err)
	}
	id := newSandbox(t, b, agent.SandboxSpec{})
	mustRun(t, b, id, "echo one > /one; mkdir -p /tmp/stage && echo staged > /tmp/stage/f")
	l1, err := b.CommitLayer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if l1.Depth != 1 || l1.Parent != "" || l1.Template != base.ID || !strings.HasPrefix(l1.Digest, "sha256:") || l1.SizeBytes <= 0 {
		t.Errorf("first layer: %+v", l1)
	}
	// the sandbox goes on, on top of the layer
	if got := mustRun(t, b, id, "cat /one /tmp/stage/f; echo two > /two"); got != "one\nstaged\n" {
		t.Errorf("after commit: %q", got)
	}
	l2, err := b.CommitLayer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Depth != 2 || l2.Parent != l1.ID || l2.Template != base.ID {
		t.Errorf("second layer: %+v", l2)
	}
	// an empty commit is a layer too, with the digest of nothing
	l3, err := b.CommitLayer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if l3.Digest == l2.Digest || l3.Depth != 3 {
		t.Errorf("empty layer: %+v", l3)
	}
	got, err := b.Layer(ctx, l2.ID)
	if err != nil || got.Digest != l2.Digest || got.SizeBytes != l2.SizeBytes {
		t.Errorf("Layer(%s) = %+v, %v", l2.ID, got, err)
	}

	from1 := newSandbox(t, b, agent.SandboxSpec{Layer: l1.ID})
	if got := mustRun(t, b, from1, "cat /one; test -e /two || echo no-two"); got != "one\nno-two\n" {
		t.Errorf("from the first layer: %q", got)
	}
	from2 := newSandbox(t, b, agent.SandboxSpec{Layer: l2.ID})
	if got := mustRun(t, b, from2, "cat /one /two"); got != "one\ntwo\n" {
		t.Errorf("from the second layer: %q", got)
	}

	if err := b.DeleteLayer(ctx, l1.ID); !errors.Is(err, agent.ErrInUse) {
		t.Errorf("delete a layer others sit on: %v, want ErrInUse", err)
	}
	if err := b.DeleteLayer(ctx, l3.ID); !errors.Is(err, agent.ErrInUse) {
		t.Errorf("delete the layer a sandbox runs on: %v, want ErrInUse", err)
	}
	if err := b.DestroySandbox(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteLayer(ctx, l3.ID); err != nil {
		t.Errorf("delete an unused layer: %v", err)
	}
	if _, err := b.Layer(ctx, l3.ID); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("deleted layer: %v", err)
	}
	if _, err := b.CreateSandbox(ctx, agent.SandboxSpec{Layer: "lay-nope"}); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("unknown layer: %v", err)
	}
	all, _ := b.ListLayers(ctx)
	if len(all) != 2 {
		t.Errorf("ListLayers: %d layers, want 2", len(all))
	}
}

// TestCommitStopsOnlyWhatRuns: a sandbox that never ran START has no
// container to stop, so creating it and committing it need no runc at all;
// after a START, the commit ends the START's process and the container.
func TestCommitStopsOnlyWhatRuns(t *testing.T) { eachRuntime(t, testCommitStopsOnlyWhatRuns) }

func testCommitStopsOnlyWhatRuns(t *testing.T, b *Backend) {
	ctx := context.Background()
	rt := b.rt.path
	b.rt.path = "/nonexistent/runc"
	id := newSandbox(t, b, agent.SandboxSpec{})
	if err := b.WriteFile(ctx, id, "/f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CommitLayer(ctx, id); err != nil {
		t.Fatalf("commit without START needed runc: %v", err)
	}
	b.rt.path = rt

	mustRun(t, b, id, "nohup sleep 863 >/dev/null 2>&1 &")
	if len(hostProcesses("sleep 863")) != 1 {
		t.Fatalf("START process not running: %v", hostProcesses("sleep 863"))
	}
	l, err := b.CommitLayer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	waitNoHostProcesses(t, "sleep 863")
	if out, err := b.runtimeCmd("", "list", "-q").Output(); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("containers after the commit: %q %v", out, err)
	}
	// the sandbox goes on with one-shot execs, on the new layer
	if got := mustRun(t, b, id, "cat /f"); got != "x" {
		t.Errorf("after commit: %q", got)
	}
	if l.Depth != 2 {
		t.Errorf("second layer: %+v", l)
	}
}

// whiteoutScript deletes a base file and replaces a base directory, which
// overlay records as a whiteout and an opaque directory.
const whiteoutScript = "rm /etc/os-release && rm -rf /usr/sbin && mkdir /usr/sbin && echo only > /usr/sbin/only"

const whiteoutCheck = "test -e /etc/os-release && echo os-release-back; ls /usr/sbin"

func TestWhiteoutsSurviveCommitExportImportAndFlatten(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	id := newSandbox(t, b, agent.SandboxSpec{})
	mustRun(t, b, id, whiteoutScript)
	l, err := b.CommitLayer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRun(t, b, id, whiteoutCheck); got != "only\n" {
		t.Errorf("after commit: %q", got)
	}
	from := newSandbox(t, b, agent.SandboxSpec{Layer: l.ID})
	if got := mustRun(t, b, from, whiteoutCheck); got != "only\n" {
		t.Errorf("from the layer: %q", got)
	}

	var tarball bytes.Buffer
	if err := b.ExportLayer(ctx, l.ID, &tarball); err != nil {
		t.Fatal(err)
	}
	names := tarNames(t, tarball.Bytes())
	for _, want := range []string{"etc/.wh.os-release", "usr/sbin/.wh..wh..opq", "usr/sbin/only"} {
		if !names[want] {
			t.Errorf("export lacks %s: %v", want, names)
		}
	}
	imported, err := b.ImportLayer(ctx, "minimal", l.Digest, bytes.NewReader(tarball.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if imported.Digest != l.Digest || imported.ID == l.ID || imported.Depth != 1 {
		t.Errorf("imported %+v, exported %+v", imported, l)
	}
	fromImport := newSandbox(t, b, agent.SandboxSpec{Layer: imported.ID})
	if got := mustRun(t, b, fromImport, whiteoutCheck); got != "only\n" {
		t.Errorf("from the imported layer: %q", got)
	}
	if _, err := b.ImportLayer(ctx, "minimal", "sha256:"+strings.Repeat("0", 64), bytes.NewReader(tarball.Bytes())); !errors.Is(err, agent.ErrInvalid) || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("import with a wrong digest: %v", err)
	}

	// flatten, recording the chain and copying it into a standalone base
	for _, copyDepth := range []int{flattenCopyDepth, 1} {
		name := fmt.Sprintf("flat-%d", copyDepth)
		sb := newSandbox(t, b, agent.SandboxSpec{Layer: l.ID})
		flattenCopyDepth = copyDepth
		size, err := b.FlattenRootfs(ctx, sb, agent.TemplateRef{Name: name})
		flattenCopyDepth = 128
		if err != nil {
			t.Fatal(err)
		}
		if size <= 0 {
			t.Errorf("%s: size %d", name, size)
		}
		fromFlat := newSandbox(t, b, agent.SandboxSpec{Template: name})
		if got := mustRun(t, b, fromFlat, whiteoutCheck); got != "only\n" {
			t.Errorf("from %s: %q", name, got)
		}
	}
}
