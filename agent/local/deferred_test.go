package local

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"wrenn.dev/wrenn/agent"
)

// TestDeferredCommit: a deferred commit of a large change answers
// without the digest and size, the sandbox goes on at once, and every report of the layer (Layer,
// ListLayers) has the digest a plain commit of the same change has, which
// meta.json keeps; a layer whose job did not finish (the process ended)
// gets its digest on the next read.
func TestDeferredCommit(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	const change = "mkdir -p /d && for i in 1 2 3 4 5 6 7 8; do head -c 4194304 /dev/zero > /d/f$i; done; echo x > /x"

	plainSB := newSandbox(t, b, agent.SandboxSpec{})
	mustRun(t, b, plainSB, change)
	plain, err := b.CommitLayer(ctx, plainSB)
	if err != nil {
		t.Fatal(err)
	}

	id := newSandbox(t, b, agent.SandboxSpec{})
	mustRun(t, b, id, change)
	l, err := b.CommitLayerDeferred(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// 32 MB take tens of milliseconds to hash, the commit one or two: the
	// answer comes without digest (a layer hashed by the time the sandbox
	// is mounted again comes with it)
	if (l.Digest != "" || l.SizeBytes != 0) && (l.Digest != plain.Digest || l.SizeBytes != plain.SizeBytes) || l.Depth != 1 {
		t.Errorf("deferred commit answered %+v, want no digest and no size, or the plain commit's %s %d", l, plain.Digest, plain.SizeBytes)
	}
	t.Logf("the deferred commit answered digest %q", l.Digest)
	got, err := b.Layer(ctx, l.ID) // most likely while the job runs
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRun(t, b, id, "cat /x; echo y > /y"); got != "x\n" {
		t.Errorf("after a deferred commit: %q", got)
	}
	if got.Digest != plain.Digest || got.SizeBytes != plain.SizeBytes {
		t.Errorf("Layer after a deferred commit = %s %d, want the plain commit's %s %d", got.Digest, got.SizeBytes, plain.Digest, plain.SizeBytes)
	}
	b.digests.wg.Wait()
	m, err := b.readLayer(l.ID)
	if err != nil || m.Digest != plain.Digest || m.Size != plain.SizeBytes {
		t.Errorf("meta.json after the job: %+v, %v", m, err)
	}
	all, err := b.ListLayers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range all {
		if !strings.HasPrefix(x.Digest, "sha256:") {
			t.Errorf("ListLayers: %s without a digest", x.ID)
		}
	}

	// A commit whose job never ran, as after a crash: meta.json without a
	// digest and no job. The next read hashes the diff and keeps it.
	l2, err := b.CommitLayer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := b.readLayer(l2.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := m2.Digest
	m2.Digest, m2.Size = "", 0
	if err := writeJSON(filepath.Join(b.layerDir(m2.ID), "meta.json"), m2); err != nil {
		t.Fatal(err)
	}
	got2, err := b.Layer(ctx, l2.ID)
	if err != nil || got2.Digest != want || got2.SizeBytes != l2.SizeBytes {
		t.Errorf("Layer of a layer left without digest = %+v, %v; want %s", got2, err, want)
	}
	if m, err := b.readLayer(l2.ID); err != nil || m.Digest != want {
		t.Errorf("meta.json after the read: %+v, %v", m, err)
	}

	// a layer deleted while its digest is computed: the delete waits
	id3 := newSandbox(t, b, agent.SandboxSpec{})
	mustRun(t, b, id3, change)
	l3, err := b.CommitLayerDeferred(ctx, id3)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.DestroySandbox(ctx, id3); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteLayer(ctx, l3.ID); err != nil {
		t.Fatalf("delete a layer whose digest was pending: %v", err)
	}
	if _, err := b.Layer(ctx, l3.ID); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("deleted layer: %v", err)
	}
	if matches, _ := filepath.Glob(filepath.Join(b.layersDir(), l3.ID+"*")); len(matches) != 0 {
		t.Errorf("left behind: %v", matches)
	}
}
