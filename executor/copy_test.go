package executor_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/executor"
	"wrenn.dev/wrenn/internal/tartest"
	"wrenn.dev/wrenn/lang"
)

// copyFiles is a context with nested directories, an executable, a
// group-writable file and a symlink.
var copyFiles = map[string]string{
	"tree/a.txt":       "a\n",
	"tree/sub/b.txt":   "b\n",
	"tree/sub/deep/c":  "c\n",
	"tree/bin/tool":    "#!/bin/sh\necho tool\n",
	"tree/shared.conf": "x=1\n",
	"one.txt":          "one\n",
}

func writeCopyContext(t *testing.T, p *project) {
	t.Helper()
	ctx := filepath.Join(p.dir, "ctx")
	for name, mode := range map[string]os.FileMode{"tree/bin/tool": 0o755, "tree/shared.conf": 0o664} {
		if err := os.Chmod(filepath.Join(ctx, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.txt", filepath.Join(ctx, "tree/link")); err != nil {
		t.Fatal(err)
	}
}

// The same COPYs, once into destinations that do not exist yet (written
// straight into place by ExtractTar, no process) and once into existing
// ones (staged and copied by the `cp -r` script), leave the same files,
// modes, owners (by name or number) and links; only the staged COPY's layer carries the
// staging area's parent directory.
func TestCopyDirectMatchesScript(t *testing.T) {
	const copies = `USER app
COPY --chown=app:app tree/ /dst/
COPY --chmod=0750 tree/bin/tool one.txt /opt/
COPY --chown=1234:5678 one.txt /num/
USER root
RUN cd / && find dst opt num | sort | xargs stat -c '%n %a %U %G %s %F %N %u:%g' > /listing
`
	direct := newProject(t, "FROM minimal\n"+copies, copyFiles)
	writeCopyContext(t, direct)
	// existing destinations: /dst (cp -r merges into it, chown -R takes
	// it in) and /opt/one.txt (cp writes into the file)
	staged := newProject(t, "FROM minimal\nRUN mkdir -p /dst /opt /num && touch /opt/one.txt /num/one.txt\n"+copies, copyFiles)
	writeCopyContext(t, staged)

	direct.build()
	staged.build()
	want := staged.readFile("/listing")
	if got := direct.readFile("/listing"); got != want {
		t.Fatalf("direct COPY left\n%s\nthe script left\n%s", got, want)
	}
	for _, line := range []string{
		"dst 755 app app", "dst/bin/tool 755 app app", "dst/shared.conf 644 app app",
		"dst/link 777 app app", "-> 'a.txt'", "opt/tool 750 app app", "opt/one.txt 750 app app",
		"num/one.txt 644 UNKNOWN UNKNOWN 4 regular file num/one.txt 1234:5678",
	} {
		if !strings.Contains(want, line) {
			t.Errorf("listing lacks %q:\n%s", line, want)
		}
	}
	if got := direct.readFile("/dst/sub/deep/c"); got != "c\n" {
		t.Errorf("/dst/sub/deep/c = %q", got)
	}

	if tops := copyLayerTops(t, direct); strings.Join(tops, " ") != "dst num opt" {
		t.Errorf("direct COPY layers hold %v, want only the destinations", tops)
	}
	if tops := copyLayerTops(t, staged); !contains(tops, "tmp") {
		t.Errorf("staged COPY layers hold %v: the staging path went unused?", tops)
	}
}

// A --chown that names no user of the sandbox is left to the script,
// whose chown fails the step with its own message.
func TestCopyUnknownOwnerFailsInScript(t *testing.T) {
	p := newProject(t, "FROM minimal\nCOPY --chown=ghost one.txt /x/\n", copyFiles)
	_, err := p.tryBuild()
	if err == nil || !strings.Contains(err.Error(), "recipe step 1 failed") || !strings.Contains(err.Error(), "ghost") {
		t.Fatalf("build error %v, want the step's chown failure naming ghost", err)
	}
}

// copyLayerTops lists the top-level names in the layers of p's COPY steps.
func copyLayerTops(t *testing.T, p *project) []string {
	t.Helper()
	src, _ := os.ReadFile(filepath.Join(p.dir, "Wrennfile"))
	f, _ := lang.Parse("Wrennfile", src)
	cx, err := compiler.OpenContext(filepath.Join(p.dir, "ctx"), compiler.ContextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	plan, _, err := executor.Plan(ctx, executor.Request{Agent: env.client, Store: p.store, File: f,
		Options: compiler.Options{Context: cx, SkipPrePost: true}})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := p.store.Lookup(ctx, cache.LayerKeys(plan))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if !strings.HasPrefix(r.Text, "COPY") {
			continue
		}
		var buf bytes.Buffer
		if err := env.backend.ExportLayer(ctx, r.Snapshot.ID, &buf); err != nil {
			t.Fatal(err)
		}
		for _, h := range tartest.Read(t, &buf) {
			seen[strings.Split(strings.TrimPrefix(h.Name, "./"), "/")[0]] = true
		}
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
