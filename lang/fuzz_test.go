package lang

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// FuzzParse checks the parser's invariants on arbitrary input: no panic,
// every range inside the source with Start <= End and consistent
// line/column, diagnostics sorted, the same result twice, and the
// hand-written recognizer agreeing with the participle grammar.
func FuzzParse(f *testing.F) {
	for _, src := range corpus(f) {
		f.Add(src)
	}
	goldens, _ := filepath.Glob("testdata/parse/*.txtar")
	for _, path := range goldens {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for _, af := range ar.Files {
			if af.Name == "Wrennfile" {
				f.Add(af.Data)
			}
		}
	}
	for _, s := range []string{
		"", "\\", "RUN \\", "RUN a \\\n# c\n\n b", "ENV", "COPY --from= a b", "FROM x AS", "# wrenn:x\r\nRUN \"",
		"HEALTHCHECK CMD", "RUN --timeout", "\xff\xfe RUN", "RUN $((", "RUN a\r\n\r\n", "  run  --user=x  --no-cache  y",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, ds := Parse("F", src)
		if file == nil {
			t.Fatal("nil file")
		}
		li := NewLineIndex("F", src)
		check := func(what string, r Range) {
			t.Helper()
			if r.Start.Offset < 0 || r.End.Offset > len(src) || r.Start.Offset > r.End.Offset {
				t.Fatalf("%s range %+v outside source of %d bytes", what, r, len(src))
			}
			if r.Start != li.Pos(r.Start.Offset) || r.End != li.Pos(r.End.Offset) {
				t.Fatalf("%s range %+v has inconsistent line/column", what, r)
			}
		}
		walk(file, check)
		for _, d := range ds {
			check("diagnostic "+d.Code, d.Range)
			for _, r := range d.Related {
				check("related", r.Range)
			}
			if d.Code == "" || d.Message == "" {
				t.Fatalf("diagnostic without code or message: %+v", d)
			}
		}
		if !slices.IsSortedFunc(ds, func(a, b Diagnostic) int { return a.Range.Start.Offset - b.Range.Start.Offset }) {
			t.Fatalf("diagnostics not sorted:\n%s", dumpDiags(ds))
		}
		grammarAgrees(t, src)
		// The recipe form of the same text: each line one instruction.
		rf, rds := ParseRecipe("F", strings.Split(string(src), "\n"))
		if string(rf.Source) != string(src) {
			t.Fatal("ParseRecipe must keep the joined lines as its source")
		}
		walk(rf, check)
		for _, d := range rds {
			check("recipe diagnostic "+d.Code, d.Range)
		}
		// The same text as the seed's healthcheck parameter.
		h, hds := ParseHealthcheck("F", string(src))
		check("healthcheck", h.Range)
		check("healthcheck cmd", h.Cmd.Range)
		for _, d := range hds {
			check("healthcheck diagnostic "+d.Code, d.Range)
		}
		file2, ds2 := Parse("F", src)
		if dump(file) != dump(file2) || !reflect.DeepEqual(ds, ds2) {
			t.Fatal("Parse is not deterministic")
		}
	})
}

// walk calls check on every range of the file.
func walk(f *File, check func(string, Range)) {
	for _, d := range f.Directives {
		check("directive", d.Range)
	}
	for _, c := range f.Comments {
		check("comment", c.Range)
	}
	for _, st := range f.Stages {
		check("stage", st.Range)
		for _, in := range st.Instructions {
			n := in.Node()
			check("instruction", n.Range)
			check("keyword", n.KeywordRange)
			for _, fl := range n.Flags {
				check("flag", fl.Range)
				check("flag name", fl.NameRange)
				if fl.HasValue {
					check("flag value", fl.ValueRange)
				}
			}
			var words []Word
			var shells []Shell
			switch x := in.(type) {
			case *FromInstr:
				words = append(words, x.Base)
				if x.Name != nil {
					words = append(words, *x.Name)
				}
			case *ArgInstr:
				words = append(words, x.Name)
				if x.Default != nil {
					words = append(words, *x.Default)
				}
			case *EnvInstr:
				words = append(words, x.Key, x.Value)
			case *WorkdirInstr:
				words = append(words, x.Path)
			case *UserInstr:
				words = append(words, x.Name)
			case *CopyInstr:
				words = append(append(words, x.Sources...), x.Dest)
			case *RunInstr:
				shells = append(shells, x.Cmd)
			case *StartInstr:
				shells = append(shells, x.Cmd)
			case *HealthcheckInstr:
				shells = append(shells, x.Cmd)
			}
			for _, w := range words {
				check("word", w.Range)
			}
			for _, s := range shells {
				check("shell", s.Range)
				if s.Map != nil && len(s.Map) != len(s.Text)+1 {
					panic("shell map length")
				}
				for i := range len(s.Text) {
					if o := s.SourceOffset(i); o < 0 || o >= len(f.Source) || f.Source[o] != s.Text[i] {
						panic("shell offset does not point at the same byte")
					}
				}
				if o := s.SourceOffset(len(s.Text)); o < s.Range.Start.Offset || o > len(f.Source) {
					panic("shell end offset outside the source")
				}
			}
		}
	}
}
