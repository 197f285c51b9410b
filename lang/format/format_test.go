package format_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"wrenn.dev/wrenn/lang"
	"wrenn.dev/wrenn/lang/format"
)

var update = flag.Bool("update", false, "rewrite the golden outputs in testdata/*.txtar")

// TestGolden formats the "in" file of every testdata/*.txtar and compares
// with its "out" file, or, for a file that must be refused, its "error"
// file (the first error, as file:line:col: severity: message [code]).
// -update rewrites the expected sections.
func TestGolden(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			in, ok := section(ar, "in")
			if !ok {
				t.Fatalf("%s: no -- in -- section", path)
			}
			out, ferr := format.Source("Wrennfile", in)
			var got []byte
			want := "out"
			if ferr != nil {
				var le *lang.Error
				if !errors.As(ferr, &le) {
					t.Fatalf("unexpected failure: %v", ferr)
				}
				want, got = "error", []byte(le.Diagnostics[0].Error()+"\n")
			} else {
				got = append([]byte{}, out...)
				if again, err := format.Source("Wrennfile", out); err != nil || !bytes.Equal(again, out) {
					t.Errorf("not idempotent: second pass gave err=%v\n%s", err, again)
				}
			}
			if *update {
				ar.Files = slices.DeleteFunc(ar.Files, func(f txtar.File) bool { return f.Name == "out" || f.Name == "error" })
				ar.Files = append(ar.Files, txtar.File{Name: want, Data: got})
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			exp, ok := section(ar, want)
			if !ok {
				t.Fatalf("got %s, but the golden file has no -- %s -- section:\n%s", want, want, got)
			}
			if !bytes.Equal(got, exp) {
				t.Errorf("%s differs\n--- got\n%s--- want\n%s", want, got, exp)
			}
		})
	}
}

func section(ar *txtar.Archive, name string) ([]byte, bool) {
	for _, f := range ar.Files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}

// TestCorpus formats every Wrennfile of the repository's test corpora:
// the output must parse without errors to the same meaning (so no layer
// key can change) and format to itself.
func TestCorpus(t *testing.T) {
	files := corpus(t)
	if len(files) < 10 {
		t.Fatalf("only %d corpus files found; the corpus moved?", len(files))
	}
	for _, c := range files {
		t.Run(c.name, func(t *testing.T) { checkInvariants(t, c.name, c.src) })
	}
}

// checkInvariants formats src and checks that formatting kept its meaning
// and is idempotent. A file with parse errors must be refused.
func checkInvariants(t *testing.T, name string, src []byte) {
	t.Helper()
	f, diags := lang.Parse(name, src)
	out, err := format.Source(name, src)
	if diags.HasErrors() {
		var le *lang.Error
		if !errors.As(err, &le) {
			t.Fatalf("file with parse errors: want *lang.Error, got out=%q err=%v", out, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("format failed on a valid file: %v\n%s", err, src)
	}
	g, gdiags := lang.Parse(name, out)
	if gdiags.HasErrors() {
		t.Fatalf("formatted output has errors: %v\n--- in\n%s--- out\n%s", gdiags.Errors(), src, out)
	}
	if a, b := format.MeaningOf(f), format.MeaningOf(g); !a.Equal(b) {
		t.Fatalf("formatting changed the meaning\n--- in\n%s--- out\n%s--- before\n%v\n--- after\n%v", src, out, a, b)
	}
	// The one exception to the final newline: a last line ending in a
	// backslash, which a newline would turn into a continuation.
	endsInBackslash := bytes.HasSuffix(bytes.TrimRight(out, " \t"), []byte("\\"))
	// Blank lines inside a continued instruction may have to stay.
	blankRuns := bytes.Contains(out, []byte("\n\n\n")) && !blankInsideInstruction(g)
	if len(out) > 0 && ((out[len(out)-1] != '\n' && !endsInBackslash) || blankRuns || bytes.HasPrefix(out, []byte("\n"))) {
		t.Errorf("layout: want one final newline, no blank-line runs, no leading blank line:\n%q", out)
	}
	// Trailing blanks survive only on a line kept byte for byte, because
	// the parser reads them as part of a value or command.
	for i, line := range strings.Split(string(out), "\n") {
		trimmed := strings.TrimRight(line, " \t")
		tail := line[strings.LastIndexAny(trimmed, " \t")+1:] // last word and the blanks after it
		if trimmed != line && !bytes.Contains(src, []byte(tail+"\n")) && !bytes.HasSuffix(src, []byte(tail)) {
			t.Errorf("line %d has trailing blanks the input did not have there: %q", i+1, line)
		}
	}
	again, err := format.Source(name, out)
	if err != nil {
		t.Fatalf("second pass failed: %v", err)
	}
	if !bytes.Equal(again, out) {
		t.Fatalf("not idempotent\n--- first\n%s--- second\n%s", out, again)
	}
	checkKeys(t, name, src, out)
}

// blankInsideInstruction reports whether any instruction of f spans a
// blank line.
func blankInsideInstruction(f *lang.File) bool {
	for _, st := range f.Stages {
		ins := st.Instructions
		if st.From != nil {
			ins = append([]lang.Instruction{st.From}, ins...)
		}
		for _, in := range ins {
			r := in.Node().Range
			text := string(f.Source[r.Start.Offset:r.End.Offset])
			for _, l := range strings.Split(text, "\n") {
				if strings.TrimSpace(l) == "" {
					return true
				}
			}
		}
	}
	return false
}
