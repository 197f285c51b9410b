package cache_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/rogpeppe/go-internal/txtar"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// Each testdata/explain/*.txtar is one kind of explanation. A "before"
// build (before/Wrennfile, files under before/ctx/, optional before/args
// and before/base) is compiled and recorded as the executor would, as ref
// "app"; then "after" (the same layout; missing parts are taken from
// before) is compiled and explained. want holds the reason code and the
// one line.
func TestExplainGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/explain/*.txtar")
	if len(files) < 10 {
		t.Fatalf("only %d golden files", len(files))
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			parts := map[string][]byte{}
			for _, f := range ar.Files {
				parts[f.Name] = f.Data
			}
			s := cache.NewMemStore()
			before := compileSide(t, parts, "before")
			ref := "app"
			if hasPart(parts, "no-ref") {
				ref = ""
			}
			if !hasPart(parts, "no-record") {
				record(t, s, before, ref)
			}
			after := compileSide(t, parts, "after")
			ex, err := cache.Explain(bg, s, after, cache.ExplainOptions{BuildArgs: argsOf(parts, "after")})
			if err != nil {
				t.Fatal(err)
			}
			got := ex.Reason + "\n" + ex.Message + "\n"
			if ex.ComparedWith != nil {
				got += "compared with: " + ex.ComparedWith.How + "\n"
			}
			if *update {
				for i := range ar.Files {
					if ar.Files[i].Name == "want" {
						ar.Files[i].Data = []byte(got)
					}
				}
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := string(parts["want"]); got != want {
				t.Errorf("explain:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func hasPart(parts map[string][]byte, name string) bool { _, ok := parts[name]; return ok }

func argsOf(parts map[string][]byte, side string) map[string]string {
	b, ok := parts[side+"/args"]
	if !ok {
		b = parts["before/args"]
	}
	m := map[string]string{}
	for _, l := range strings.Fields(string(b)) {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

// compileSide compiles one side. after/ starts from before/: its
// Wrennfile, args and base replace before's when given, its ctx/ files
// are laid over before's, and after/rm lists context files to delete.
func compileSide(t *testing.T, parts map[string][]byte, side string) *compiler.Plan {
	t.Helper()
	get := func(name string) []byte {
		if b, ok := parts[side+"/"+name]; ok {
			return b
		}
		return parts["before/"+name]
	}
	files := map[string][]byte{}
	for _, prefix := range []string{"before/ctx/", side + "/ctx/"} {
		for name, data := range parts {
			if rel, ok := strings.CutPrefix(name, prefix); ok {
				files[rel] = data
			}
		}
	}
	if side == "after" {
		for _, rel := range strings.Fields(string(parts["after/rm"])) {
			delete(files, rel)
		}
	}
	opts := compiler.Options{BuildArgs: argsOf(parts, side), SkipPrePost: get("with-pre-post") == nil}
	baseDigest := digest.FromString("rootfs:" + strings.TrimSpace(string(get("base"))))
	opts.ResolveBase = func(string) (digest.Digest, error) { return baseDigest, nil }
	if len(files) > 0 {
		dir := t.TempDir()
		for rel, data := range files {
			p := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c, err := compiler.OpenContext(dir, compiler.ContextOptions{})
		if err != nil {
			t.Fatal(err)
		}
		opts.Context = c
	}
	file, diags := lang.Parse("Wrennfile", get("Wrennfile"))
	if diags.HasErrors() {
		t.Fatalf("%s: %v", side, diags)
	}
	plan, diags := compiler.Compile(file, opts)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", side, diags)
	}
	return plan
}

// record stores every layer step of plan as the executor does after each
// commit, and the ref.
func record(t *testing.T, s cache.Store, plan *compiler.Plan, ref string) {
	t.Helper()
	for _, st := range plan.Steps {
		if !st.MakesLayer {
			continue
		}
		snap := cache.SnapshotRef{Agent: "agent-1", ID: fmt.Sprintf("layer-%d", st.ID), Kind: cache.KindLayer}
		if err := s.Put(bg, cache.NewRecord(plan, st, snap, "", 100, ref)); err != nil {
			t.Fatal(err)
		}
	}
	if ref == "" {
		return
	}
	if err := s.PutRef(bg, cache.NewRef(plan, ref, "tmpl-1")); err != nil {
		t.Fatal(err)
	}
}
