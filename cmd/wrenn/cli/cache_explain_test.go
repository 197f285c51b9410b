package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
)

// explainFixture writes a Wrennfile and a context, and records a "build"
// of it in a cache directory as the executor would (records after each
// layer, the base it used, the ref).
func explainFixture(t *testing.T, wrennfile string) (dir, file, ctxDir string) {
	t.Helper()
	root := t.TempDir()
	dir, ctxDir = filepath.Join(root, "cache"), filepath.Join(root, "ctx")
	file = filepath.Join(root, "Wrennfile")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(ctxDir, "app"), 0o755))
	must(os.WriteFile(filepath.Join(ctxDir, "app", "main.py"), []byte("print('hi')\n"), 0o644))
	must(os.WriteFile(file, []byte(wrennfile), 0o644))

	f, diags := checkFile(file, []byte(wrennfile), checkOptions{ContextDir: ctxDir})
	if diags.HasErrors() {
		t.Fatalf("fixture Wrennfile: %v", diags)
	}
	ctx := context.Background()
	s, err := cache.Open(dir, cache.Options{})
	must(err)
	defer s.Close()
	base := digest.FromString("minimal rootfs")
	must(s.PutBase(ctx, cache.Base{Agent: "a", Template: "minimal", Digest: base.String(), Env: compiler.FallbackEnv()}))
	opts := compiler.Options{SkipPrePost: true}
	must(cache.BaseOptions(ctx, s, &opts))
	c, err := compiler.OpenContext(ctxDir, compiler.ContextOptions{StatCache: cache.NewStatCache(ctx, s)})
	must(err)
	opts.Context = c
	plan, cd := compiler.Compile(f, opts)
	if cd.HasErrors() {
		t.Fatalf("compile: %v", cd)
	}
	for _, st := range plan.Steps {
		if st.MakesLayer {
			must(s.Put(ctx, cache.NewRecord(plan, st, cache.SnapshotRef{Agent: "a", ID: "l" + st.Short()}, "", 10, "app")))
		}
	}
	must(s.PutRef(ctx, cache.NewRef(plan, "app", "t1")))
	return dir, file, ctxDir
}

const explainWrennfile = `# a small app
RUN apt-get update
ENV APP_HOME=/srv/app
WORKDIR /srv
COPY app/ /srv/
RUN python3 -m compileall /srv
`

func TestCacheExplainFileChanged(t *testing.T) {
	dir, file, ctxDir := explainFixture(t, explainWrennfile)
	args := []string{"cache", "explain", "--cache-dir", dir, "-f", file, "--context", ctxDir, "--skip-pre-post"}
	out, errOut, code := runWrenn(t, args...)
	if code != 0 || !strings.HasPrefix(out, "all 4 layer steps are cached; a build would run none of them\n") {
		t.Fatalf("unchanged: exit %d\n%s%s", code, out, errOut)
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "app", "main.py"), []byte("print('hello')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = runWrenn(t, args...)
	first, rest, _ := strings.Cut(out, "\n")
	want := "line 5 COPY app/ /srv/: file app/main.py changed (" + short(t, "print('hi')\n") + " -> " + short(t, "print('hello')\n") + ")"
	if code != 0 || first != want {
		t.Fatalf("exit %d\n got %q\nwant %q\n%s", code, first, want, errOut)
	}
	if !strings.Contains(rest, "2 of 4 layer steps cached before it") || !strings.Contains(rest, "inputs[app/main.py].digest: sha256:") {
		t.Errorf("detail:\n%s", rest)
	}

	out, _, code = runWrenn(t, append(args, "--format", "json")...)
	var ex cache.Explanation
	if err := json.Unmarshal([]byte(out), &ex); err != nil || code != 0 {
		t.Fatalf("json: %v %s", err, out)
	}
	if ex.Reason != cache.ReasonFile || ex.FirstMiss == nil || ex.FirstMiss.Line != 5 || ex.Cached != 2 || ex.ComparedWith == nil || ex.ComparedWith.How != "same parent" || len(ex.Diffs) == 0 || ex.Message != want {
		t.Errorf("json: %+v", ex)
	}
}

func TestCacheExplainEnvAndBuildArgs(t *testing.T) {
	dir, file, ctxDir := explainFixture(t, explainWrennfile)
	if err := os.WriteFile(file, []byte(strings.Replace(explainWrennfile, "/srv/app", "/opt/app", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runWrenn(t, "cache", "explain", "--cache-dir", dir, "-f", file, "--context", ctxDir, "--skip-pre-post")
	if first, _, _ := strings.Cut(out, "\n"); code != 0 || first != "line 3 ENV APP_HOME changed from /srv/app to /opt/app" {
		t.Errorf("exit %d %q %s", code, out, errOut)
	}
	_, errOut, code = runWrenn(t, "cache", "explain", "--cache-dir", dir, "-f", file, "--build-arg", "NOEQUALS")
	if code != ExitUsage || !strings.Contains(errOut, `--build-arg "NOEQUALS": want NAME=VALUE`) {
		t.Errorf("bad build arg: exit %d %s", code, errOut)
	}
	_, errOut, code = runWrenn(t, "cache", "explain", "--cache-dir", dir, "-f", filepath.Join(t.TempDir(), "nope"))
	if code != 1 || !strings.Contains(errOut, "cannot read") {
		t.Errorf("missing file: exit %d %s", code, errOut)
	}
}

func short(t *testing.T, content string) string {
	t.Helper()
	return "sha256:" + digest.FromString(content).Encoded()[:8] + "…"
}
