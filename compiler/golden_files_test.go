package compiler

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"wrenn.dev/wrenn/lang"
)

// wrennfileDir holds the shared Wrennfile corpus (written with the parser).
const wrennfileDir = "../testdata/wrennfiles"

func isWrennfile(name string) bool {
	base := filepath.Base(name)
	return base == "Wrennfile" || strings.HasSuffix(base, ".Wrennfile") || strings.HasSuffix(base, ".wrenn") || strings.HasPrefix(base, "Wrennfile.")
}

// goldenContext is the build context every corpus file compiles against.
func goldenContext(t *testing.T) *Context {
	ctxDir := filepath.Join("testdata", "context")
	// Modes are part of the keys; a checkout's umask must not change them.
	filepath.WalkDir(ctxDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			return os.Chmod(p, 0o755)
		}
		if err == nil && d.Type().IsRegular() {
			return os.Chmod(p, 0o644)
		}
		return err
	})
	ctx, err := OpenContext(ctxDir, ContextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

// TestGoldenWrennfiles pins the plan (keys, scripts, state, result) and
// the compile diagnostics of every Wrennfile of the corpus, so an
// accidental key change fails review. -update rewrites
// testdata/wrennfiles.txtar; a section whose Wrennfile is gone fails.
func TestGoldenWrennfiles(t *testing.T) {
	var names []string
	err := filepath.WalkDir(wrennfileDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && isWrennfile(p) {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("no Wrennfiles under %s", wrennfileDir)
	}
	slices.Sort(names)
	ctx := goldenContext(t)
	files := map[string]string{}
	var order []string
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(wrennfileDir, name)
		rel = filepath.ToSlash(rel)
		f, pdiags := lang.Parse(rel, src)
		p, diags := Compile(f, Options{Context: ctx})
		var b strings.Builder
		if pdiags.HasErrors() {
			fmt.Fprintf(&b, "parse errors: %d\n", len(pdiags.Errors()))
		}
		for _, d := range diags {
			fmt.Fprintf(&b, "diag %s\n", d.Error())
		}
		b.WriteString(Dump(p))
		files[rel] = b.String()
		order = append(order, rel)
	}
	checkGolden(t, filepath.Join("testdata", "wrennfiles.txtar"), files, order)
}

func parseKeys(t *testing.T, src string, opts Options) []string {
	t.Helper()
	f, diags := lang.Parse("Wrennfile", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("parse: %v\n%s", diags, src)
	}
	p, cdiags := Compile(f, opts)
	if cdiags.HasErrors() {
		t.Fatalf("compile: %v", cdiags)
	}
	return keysOf(p)
}

const invariantBase = "ARG V=1\nRUN apt-get install -y curl\nENV A=1\nRUN --timeout=5m --user=root make\nWORKDIR /src\nRUN echo done\n"

func TestParsedKeysIgnoreCommentsAndBlankLines(t *testing.T) {
	src := "# a comment\n\nARG V=1\n\n# another\nRUN apt-get install -y curl\n\n\nENV A=1\n  # indented comment\nRUN --timeout=5m --user=root make\nWORKDIR /src\nRUN echo done\n# trailing\n"
	if !slices.Equal(parseKeys(t, invariantBase, Options{}), parseKeys(t, src, Options{})) {
		t.Errorf("comments or blank lines changed keys")
	}
}

func TestParsedKeysIgnoreContinuation(t *testing.T) {
	src := "ARG V=1\nRUN apt-get install -y curl\nENV A=1\nRUN --timeout=5m \\\n    --user=root \\\n    make\nWORKDIR /src\nRUN echo done\n"
	if !slices.Equal(parseKeys(t, invariantBase, Options{}), parseKeys(t, src, Options{})) {
		t.Errorf("continuation lines changed keys")
	}
}

func TestParsedKeysIgnoreKeywordCase(t *testing.T) {
	src := "arg V=1\nrun apt-get install -y curl\nEnv A=1\nrUN --timeout=5m --user=root make\nworkdir /src\nRun echo done\n"
	if !slices.Equal(parseKeys(t, invariantBase, Options{}), parseKeys(t, src, Options{})) {
		t.Errorf("keyword case changed keys")
	}
}

func TestParsedKeysIgnoreFlagOrderAndTimeout(t *testing.T) {
	src := strings.Replace(invariantBase, "--timeout=5m --user=root", "--user=root --timeout=2h", 1)
	if !slices.Equal(parseKeys(t, invariantBase, Options{}), parseKeys(t, src, Options{})) {
		t.Errorf("flag order or timeout changed keys")
	}
}

func TestParsedSemanticChange(t *testing.T) {
	src := strings.Replace(invariantBase, "RUN --timeout=5m --user=root make", "RUN --timeout=5m --user=root make all", 1)
	// Steps: 3 pre-build, ARG, RUN, ENV, then the changed RUN (index 6).
	if got := changedFrom(t, parseKeys(t, invariantBase, Options{}), parseKeys(t, src, Options{})); got != 6 {
		t.Errorf("first changed step %d, want 7", got+1)
	}
	if got := changedFrom(t, parseKeys(t, invariantBase, Options{}), parseKeys(t, invariantBase, Options{BuildArgs: map[string]string{"V": "2"}})); got != 3 {
		t.Errorf("build arg: first changed step %d, want 4 (the ARG)", got+1)
	}
}
