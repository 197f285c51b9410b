package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/agent/local"
	"wrenn.dev/wrenn/cache"
)

// localRoot bootstraps an agent root with the busybox base "minimal" and,
// when files is not empty, commits one layer per file on it, recording
// each in the cache at cacheDir as the executor would. It returns the
// layer ids and keys.
func localRoot(t *testing.T, root, cacheDir string, files []string) (layers, keys []string) {
	t.Helper()
	ctx := context.Background()
	b, err := local.New(local.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	if _, err := b.BootstrapBase(ctx, "minimal", local.FromBusybox, nil); err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		return nil, nil
	}
	sb, err := b.CreateSandbox(ctx, agent.SandboxSpec{Template: "minimal"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := cache.Open(cacheDir, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	parent := ""
	for i, f := range files {
		if err := b.WriteFile(ctx, sb.ID, "/srv/"+f, []byte("content of "+f)); err != nil {
			t.Fatal(err)
		}
		l, err := b.CommitLayer(ctx, sb.ID)
		if err != nil {
			t.Fatal(err)
		}
		pre := []byte(`{"step":` + string(rune('0'+i)) + `,"file":"` + f + `"}`)
		key := digest.FromBytes(pre).String()
		rec := cache.Record{Key: key, Snapshot: cache.SnapshotRef{Agent: b.AgentID(), ID: l.ID, Kind: cache.KindLayer},
			Text: "COPY " + f + " /srv/", Preimage: pre, Digest: l.Digest, SizeBytes: l.SizeBytes, Template: "app"}
		if parent != "" {
			rec.Parents = []string{parent}
		}
		if err := s.Put(ctx, rec); err != nil {
			t.Fatal(err)
		}
		layers, keys, parent = append(layers, l.ID), append(keys, key), key
	}
	if err := s.PutRef(ctx, cache.Ref{Name: "app", Key: parent, Keys: keys}); err != nil {
		t.Fatal(err)
	}
	if err := b.DestroySandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	return layers, keys
}

// TestCacheEndToEndLocalAgent runs verify, export, import and prune through
// the CLI against the real local agent (overlayfs + runc, busybox base),
// embedded with --root: layer content really travels between two roots.
func TestCacheEndToEndLocalAgent(t *testing.T) {
	tmp := t.TempDir()
	root1, root2, cache1, cache2, exp := filepath.Join(tmp, "root1"), filepath.Join(tmp, "root2"), filepath.Join(tmp, "cache1"), filepath.Join(tmp, "cache2"), filepath.Join(tmp, "export")
	layers, keys := localRoot(t, root1, cache1, []string{"a.txt", "b.txt"})
	localRoot(t, root2, "", nil)

	_, errOut := mustRunWrenn(t, 0, "cache", "verify", "--root", root1, "--cache-dir", cache1)
	if !strings.Contains(errOut, "checked 2 records against 2 agent layers: no problems") {
		t.Errorf("verify: %s", errOut)
	}
	_, errOut = mustRunWrenn(t, 0, "cache", "export", "--root", root1, "--cache-dir", cache1, "--to", exp)
	if !strings.Contains(errOut, "exported 2 records, 2 layers and 1 ref") {
		t.Errorf("export: %s", errOut)
	}
	_, errOut = mustRunWrenn(t, 0, "cache", "import", "--root", root2, "--cache-dir", cache2, "--from", exp)
	if !strings.Contains(errOut, "imported 2 records, 2 layers and 1 ref") {
		t.Errorf("import: %s", errOut)
	}
	mustRunWrenn(t, 0, "cache", "verify", "--root", root2, "--cache-dir", cache2)

	// The imported chain has both files, on the second root's own base.
	s, err := cache.Open(cache2, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Get(context.Background(), keys[1])
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b2, err := local.New(local.Options{Root: root2})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b2.CreateSandbox(ctx, agent.SandboxSpec{Layer: rec.Snapshot.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a.txt", "b.txt"} {
		if got, err := b2.ReadFile(ctx, sb.ID, "/srv/"+f); err != nil || string(got) != "content of "+f {
			t.Errorf("imported /srv/%s = %q, %v", f, got, err)
		}
	}
	if got, err := b2.ReadFile(ctx, sb.ID, "/bin/busybox"); err != nil || len(got) == 0 {
		t.Errorf("imported layer is not on the base: %v", err)
	}
	_ = b2.DestroySandbox(ctx, sb.ID)
	b2.Close(ctx)

	// A damaged blob is rejected before anything reaches the agent.
	blobs, _ := filepath.Glob(filepath.Join(exp, "blobs", "sha256", "*"))
	if len(blobs) != 2 {
		t.Fatalf("%d blobs", len(blobs))
	}
	if err := os.WriteFile(blobs[0], []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut = mustRunWrenn(t, 1, "cache", "import", "--root", root2, "--cache-dir", filepath.Join(tmp, "cache3"), "--from", exp)
	if !strings.HasPrefix(errOut, "wrenn: import rejected: export does not match its digests: "+blobs[0]+" has digest sha256:") {
		t.Errorf("tampered import: %s", errOut)
	}

	// Prune everything on the first root: children first, layers gone.
	_, errOut = mustRunWrenn(t, 0, "cache", "prune", "--all", "--root", root1, "--cache-dir", cache1)
	if !strings.Contains(errOut, "deleted 2 layers and 0 orphans") {
		t.Errorf("prune: %s", errOut)
	}
	b1, err := local.New(local.Options{Root: root1})
	if err != nil {
		t.Fatal(err)
	}
	defer b1.Close(ctx)
	for _, id := range layers {
		if _, err := b1.Layer(ctx, id); err == nil {
			t.Errorf("layer %s survived prune", id)
		}
	}
}

// TestCacheAfterRealBuild: after real builds (a base result and a
// snapshot result, whose records name their template), `cache verify`
// finds nothing wrong, and pruning the result records deletes those
// templates on the agent.
func TestCacheAfterRealBuild(t *testing.T) {
	dir, root, cacheDir := bootstrapBusybox(t)
	for name, src := range map[string]string{
		"flat": "FROM minimal\nRUN echo a > /a\n",
		"snap": "FROM minimal\nRUN echo b > /b\nSTART sleep 1000\nHEALTHCHECK CMD true\n",
	} {
		wf := filepath.Join(dir, name+".Wrennfile")
		if err := os.WriteFile(wf, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		mustRunWrenn(t, 0, "build", "-f", wf, "--root", root, "--cache-dir", cacheDir, "--skip-pre-post", "-t", name, "--progress", "plain")
	}
	if out, _ := mustRunWrenn(t, 0, "base", "ls", "--root", root); !strings.Contains(out, "flat") || !strings.Contains(out, "snap") {
		t.Fatalf("templates after the builds:\n%s", out)
	}
	if _, errOut := mustRunWrenn(t, 0, "cache", "verify", "--root", root, "--cache-dir", cacheDir); !strings.Contains(errOut, "no problems") {
		t.Errorf("verify after real builds: %s", errOut)
	}
	mustRunWrenn(t, 0, "cache", "prune", "--all", "--filter", "kind=snapshot", "--root", root, "--cache-dir", cacheDir)
	if out, _ := mustRunWrenn(t, 0, "base", "ls", "--root", root); strings.Contains(out, "flat") || strings.Contains(out, "snap") {
		t.Errorf("templates after pruning their records:\n%s", out)
	}
}
