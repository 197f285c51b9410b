package lang

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"
)

// simpleShellAgrees fails when simpleShell accepts a body the POSIX
// parser rejects or parses to a different tree. It reports whether the
// fast path took the body.
func simpleShellAgrees(t testing.TB, body string) bool {
	t.Helper()
	fast, ok := simpleShell(body)
	if !ok {
		return false
	}
	p := syntax.NewParser(syntax.Variant(syntax.LangPOSIX), syntax.KeepComments(false))
	ref, err := p.Parse(strings.NewReader(body), "")
	if err != nil {
		t.Fatalf("simpleShell accepted %q, the parser rejects it: %v", body, err)
	}
	if in, ok := simpleShellIn(body, &shellArena{}); !ok || !reflect.DeepEqual(in, ref) {
		t.Fatalf("simpleShellIn(%q) with an arena differs from the parser", body)
	}
	if !reflect.DeepEqual(fast, ref) {
		var a, b strings.Builder
		syntax.DebugPrint(&a, fast)
		syntax.DebugPrint(&b, ref)
		t.Fatalf("simpleShell(%q) differs from the parser:\n%s\nparser:\n%s", body, a.String(), b.String())
	}
	return true
}

// shellBodies are candidate bodies from every Wrennfile the tests use:
// the rest of each line after its first word, and the same cut at each
// space (so shorter and broken variants are tried too).
func shellBodies(t *testing.T) []string {
	var files [][]byte
	for _, src := range corpus(t) {
		files = append(files, src)
	}
	for _, glob := range []string{"testdata/parse/*.txtar", "lint/testdata/rules/*.txtar", "../examples/*/Wrennfile", "../compiler/testdata/*.txtar"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, b)
		}
	}
	files = append(files, bigWrennfile(50))
	var out []string
	for _, src := range files {
		for _, line := range strings.Split(string(src), "\n") {
			_, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
			out = append(out, rest)
			for i := range rest {
				if rest[i] == ' ' {
					out = append(out, rest[:i], rest[i+1:])
				}
			}
		}
	}
	return out
}

// simpleShellCases are shapes at the edge of what the fast path takes.
var simpleShellCases = []string{
	"true", "a b c", " a ", "a\tb", "a;", "a ;", "a; b", "a;b;", "a ;; b", "a;;", ";", "; a",
	"a && b", "a&&b", "a || b && c | d | e", "a |& b", "a | ", "a &&", "a &", "a & b", "a &> f",
	"echo x > f", "echo x >f", "echo x>f", "echo 2>f", "echo x 2> f", "echo >> f x", "cat < in > out",
	"a > f > g", "a >& 2", "a >| f", "a << EOF", "a <> f", "a < ", "> f a",
	"A=b c", "c A=b", "--x=y", "if true", "echo if", "export A", "for", "time a", "!a", "! a",
	"a#b", "a #c", "a$b", "a'b'", "a\"b\"", "a\\b", "a*", "a?", "[a]", "{a}", "~/x", "a(b)", "a\nb",
	"a%b^c@d,e+f:g", "x-1.2/3_", "mkdir -p /opt/app/d1 && echo step-1 > /opt/app/d1/stamp", "test -f /a || exit 1",
}

func TestSimpleShellMatchesParser(t *testing.T) {
	took := 0
	for _, body := range append(simpleShellCases, shellBodies(t)...) {
		if simpleShellAgrees(t, body) {
			took++
		}
	}
	t.Logf("simpleShell took %d bodies", took)
	// The check means something only if the fast path takes many bodies.
	if took < 200 {
		t.Errorf("simpleShell took only %d bodies", took)
	}
	for _, body := range []string{"a b", "a && b || c", "a | b; c > f"} {
		if _, ok := simpleShell(body); !ok {
			t.Errorf("simpleShell(%q) fell back; it is the shape it exists for", body)
		}
	}
}

// TestSimpleShellSameDiagnostics parses every test Wrennfile with and
// without the fast path: the diagnostics must be identical.
func TestSimpleShellSameDiagnostics(t *testing.T) {
	srcs := map[string][]byte{"big": bigWrennfile(100)}
	for name, src := range corpus(t) {
		srcs[name] = src
	}
	paths, _ := filepath.Glob("testdata/parse/*.txtar")
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		srcs[p] = b
	}
	for name, src := range srcs {
		_, fast := Parse(name, src)
		noSimpleShell = true
		_, slow := Parse(name, src)
		noSimpleShell = false
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: diagnostics differ with the fast shell path:\n%s\nwithout:\n%s", name, dumpDiags(fast), dumpDiags(slow))
		}
	}
}

func FuzzSimpleShell(f *testing.F) {
	for _, s := range simpleShellCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		simpleShellAgrees(t, body)
	})
}

// TestShellArenaKeepsTrees parses many bodies into one arena (slabs fill
// and new ones start) and checks every tree afterwards against a tree of
// its own: no node is handed out twice.
func TestShellArenaKeepsTrees(t *testing.T) {
	var a shellArena
	var bodies []string
	var trees []*syntax.File
	for i := range 5 * arenaSlab {
		body := "mkdir -p /d" + strings.Repeat("x", i%7) + " && echo a b c d e > /f | cat < /g ; true || false"
		f, ok := simpleShellIn(body, &a)
		if !ok {
			t.Fatalf("fell back on %q", body)
		}
		bodies, trees = append(bodies, body), append(trees, f)
	}
	for i, body := range bodies {
		want, _ := simpleShell(body)
		if !reflect.DeepEqual(trees[i], want) {
			t.Fatalf("tree %d changed after later parses", i)
		}
	}
}
