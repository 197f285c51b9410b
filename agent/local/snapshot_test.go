package local

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"wrenn.dev/wrenn/agent"
)

func TestSnapshotAndCreateFromSnapshot(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	id := newSandbox(t, b, agent.SandboxSpec{})
	mustRun(t, b, id, "echo layered > /layered")
	if _, err := b.CommitLayer(ctx, id); err != nil {
		t.Fatal(err)
	}
	mustRun(t, b, id, "echo app > /app")
	start := "nohup /bin/sh -c 'exec sleep 1001' >/dev/null 2>&1 &"
	if _, _, code := run(t, b, id, start, 10*time.Second); code != 0 {
		t.Fatal("start failed")
	}
	ref := agent.TemplateRef{Name: "app", TeamID: "team-1", TemplateID: "0b5c-uuid"}
	size, err := b.CreateSnapshot(ctx, id, ref)
	if err != nil {
		t.Fatal(err)
	}
	if size <= 0 {
		t.Errorf("snapshot size %d", size)
	}
	if _, err := b.Exec(ctx, id, agent.ExecSpec{Cmd: "true"}, nil, nil, nil); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("the snapshotted sandbox still runs: %v", err)
	}
	info, err := b.Template(ctx, agent.TemplateRef{Name: "app"})
	if err != nil || info.Type != "snapshot" || !strings.HasPrefix(info.Digest, "sha256:") {
		t.Fatalf("template: %+v %v", info, err)
	}
	// by the caller's template id, as a build resumes from it
	from := newSandbox(t, b, agent.SandboxSpec{TemplateID: "0b5c-uuid"})
	if got := mustRun(t, b, from, "cat /layered /app"); got != "layered\napp\n" {
		t.Errorf("from the snapshot: %q", got)
	}
	if got := mustRun(t, b, from, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"); !strings.Contains(got, "sleep 1001") {
		t.Errorf("START did not run again: %q", got)
	}
	// by our id, too
	byID := newSandbox(t, b, agent.SandboxSpec{TemplateID: info.ID})

	// a new snapshot under the same name replaces the old one, whose files
	// go once nothing uses them
	mustRun(t, b, from, "echo v2 > /app")
	if _, err := b.CreateSnapshot(ctx, from, ref); err != nil {
		t.Fatal(err)
	}
	info2, err := b.Template(ctx, agent.TemplateRef{Name: "app"})
	if err != nil || info2.ID == info.ID || info2.Digest == info.Digest {
		t.Errorf("replacement: %+v (old %+v) %v", info2, info, err)
	}
	if _, err := os.Stat(b.templateDir(info.ID)); err != nil {
		t.Errorf("the old snapshot went while the new one sits on it: %v", err)
	}
	from2 := newSandbox(t, b, agent.SandboxSpec{Template: "app"})
	if got := mustRun(t, b, from2, "cat /app"); got != "v2\n" {
		t.Errorf("from the replacement: %q", got)
	}
	// START is inherited through a snapshot of a snapshot
	if got := mustRun(t, b, from2, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"); !strings.Contains(got, "sleep 1001") {
		t.Errorf("START lost in a snapshot of a snapshot: %q", got)
	}
	if err := b.DeleteSnapshot(ctx, agent.TemplateRef{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Template(ctx, agent.TemplateRef{Name: "app"}); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("deleted snapshot: %v", err)
	}
	if err := b.DeleteSnapshot(ctx, agent.TemplateRef{Name: "app"}); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	// its files stay while a sandbox runs on it, and go with the sandbox
	if _, err := os.Stat(b.templateDir(info2.ID)); err != nil {
		t.Errorf("deleted while in use: %v", err)
	}
	for _, sb := range []string{from2, byID} {
		if err := b.DestroySandbox(ctx, sb); err != nil {
			t.Fatal(err)
		}
	}
	for _, old := range []string{info.ID, info2.ID} {
		if _, err := os.Stat(b.templateDir(old)); !os.IsNotExist(err) {
			t.Errorf("template %s still on disk after its last user went: %v", old, err)
		}
	}
	if _, err := b.CreateSnapshot(ctx, "nope", ref); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("snapshot of an unknown sandbox: %v", err)
	}
}

func TestFlatten(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	base, err := b.Template(ctx, agent.TemplateRef{Name: "minimal"})
	if err != nil {
		t.Fatal(err)
	}
	id := newSandbox(t, b, agent.SandboxSpec{})
	mustRun(t, b, id, "mkdir -p /srv && echo hello > /srv/hello && chmod 0600 /srv/hello && ln -s /srv/hello /srv/link")
	l, err := b.CommitLayer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, b, id, "echo more >> /srv/hello; nohup sleep 855 >/dev/null 2>&1 &")
	size, err := b.FlattenRootfs(ctx, id, agent.TemplateRef{Name: "flat", TemplateID: "flat-uuid"})
	if err != nil {
		t.Fatal(err)
	}
	waitNoHostProcesses(t, "sleep 855")
	info, err := b.Template(ctx, agent.TemplateRef{TemplateID: "flat-uuid"})
	if err != nil || info.Type != "base" || info.Name != "flat" || !strings.HasPrefix(info.Digest, "sha256:") {
		t.Fatalf("template: %+v %v", info, err)
	}
	// the size is the whole chain's, as a snapshot's
	if size != info.SizeBytes || size < base.SizeBytes+l.SizeBytes {
		t.Errorf("size %d (template %d), want at least base %d + layer %d", size, info.SizeBytes, base.SizeBytes, l.SizeBytes)
	}
	// the chain is recorded, not copied: the last diff on the layer
	meta, err := b.readTemplate(info.ID)
	if err != nil || meta.ParentLayer != l.ID || len(meta.Start) != 0 {
		t.Fatalf("flattened template meta: %+v %v", meta, err)
	}
	if _, err := os.Stat(b.templateDir(info.ID) + "/rootfs/bin"); !os.IsNotExist(err) {
		t.Errorf("the flattened template holds a copy of the base: %v", err)
	}
	from := newSandbox(t, b, agent.SandboxSpec{Template: "flat"})
	if got := mustRun(t, b, from, "cat /srv/link; stat -c %a /srv/hello"); got != "hello\nmore\n600\n" {
		t.Errorf("from the flattened template: %q", got)
	}
	// layers on it are based on it, as on any base
	mustRun(t, b, from, "echo on-flat > /on")
	onFlat, err := b.CommitLayer(ctx, from)
	if err != nil || onFlat.Template != info.ID || onFlat.Depth != 2 {
		t.Errorf("layer on the flattened template: %+v %v", onFlat, err)
	}
	if err := b.DeleteLayer(ctx, l.ID); !errors.Is(err, agent.ErrInUse) {
		t.Errorf("delete the layer a flattened template sits on: %v, want ErrInUse", err)
	}
}
