package lsp_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"go.lsp.dev/protocol"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
)

// TestCodeLensCache runs the server with a build context and a real Badger
// cache holding the first step's layer: the lens says cached on that step
// and not cached on the others; while another process holds the cache,
// the lens says so instead of waiting, and the server never keeps it open.
func TestCodeLensCache(t *testing.T) {
	dir := t.TempDir()
	ctxDir, cacheDir := filepath.Join(dir, "ctx"), filepath.Join(dir, "cache")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "app.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := "# wrenn:skip-pre-post\nFROM ubuntu\nRUN echo one\nCOPY app.txt /srv/\nRUN echo two\n"

	// Keys as a build on this machine computes them: the base identity
	// and environment the agent reported, which the cache remembers.
	base := cache.Base{Agent: "local", Template: "ubuntu", Digest: digest.FromString("ubuntu-rootfs").String(),
		Env: map[string]string{"PATH": "/usr/bin:/bin", "HOME": "/root"}, Updated: time.Now()}
	f, diags := lang.Parse("Wrennfile", []byte(text))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	bctx, err := compiler.OpenContext(ctxDir, compiler.ContextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plan, cdiags := compiler.Compile(f, compiler.Options{Context: bctx,
		BaseEnvs:    map[string]map[string]string{"ubuntu": base.Env},
		ResolveBase: func(string) (digest.Digest, error) { return digest.Digest(base.Digest), nil }})
	if cdiags.HasErrors() || len(plan.Steps) != 3 {
		t.Fatalf("plan: %d steps, %v", len(plan.Steps), cdiags)
	}
	store, err := cache.Open(cacheDir, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := store.PutBase(ctx, base); err != nil {
		t.Fatal(err)
	}
	first := plan.Steps[0]
	if err := store.Put(ctx, cache.Record{Key: first.Key.String(), Text: first.Text,
		Snapshot: cache.SnapshotRef{Agent: "local", ID: "snap-1", Kind: cache.KindLayer}}); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	c := startServer(t)
	res := initialize(t, c, map[string]any{"context": ctxDir, "cacheDir": cacheDir})
	if res.Capabilities.CodeLensProvider == nil {
		t.Fatal("no code lens provider with a context and cache directory")
	}
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": docURI, "languageId": "wrennfile", "version": 1, "text": text}})
	c.diagnostics()

	lenses := func() []protocol.CodeLens {
		var out []protocol.CodeLens
		c.call("textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": docURI}}, &out)
		return out
	}
	got := lenses()
	if len(got) != 3 {
		t.Fatalf("lenses = %+v, want one per step", got)
	}
	for i, want := range []struct {
		line   uint32
		cached bool
	}{{2, true}, {3, false}, {4, false}} {
		l := got[i]
		title := l.Command.Title
		if l.Range.Start.Line != want.line || strings.HasPrefix(title, "cached") != want.cached ||
			!strings.Contains(title, compiler.ShortKey(plan.Steps[i].Key)) {
			t.Errorf("lens %d = line %d %q, want line %d cached=%v with key %s", i, l.Range.Start.Line, title, want.line, want.cached, compiler.ShortKey(plan.Steps[i].Key))
		}
	}

	// While a build (here: this test) has the cache open, the lens says so.
	held, err := cache.Open(cacheDir, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got = lenses()
	held.Close()
	if len(got) != 1 || !strings.Contains(got[0].Command.Title, "in use") {
		t.Errorf("lenses while the cache is held = %+v", got)
	}
	// And it comes back once the cache is free, without holding it: this
	// process can open the cache again at once.
	if got = lenses(); len(got) != 3 {
		t.Errorf("lenses after release = %+v", got)
	}
	again, err := cache.Open(cacheDir, cache.Options{})
	if err != nil {
		t.Fatalf("the server kept the cache open: %v", err)
	}
	again.Close()
	if code := c.exit(); code != 0 {
		t.Errorf("exit code %d", code)
	}
}
