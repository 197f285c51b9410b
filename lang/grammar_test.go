package lang

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// grammarAgrees checks that the hand-written recognizer builds the same
// gFile as the participle grammar for src.
func grammarAgrees(t testing.TB, src []byte) {
	p := &parser{file: &File{}, li: NewLineIndex("F", src)}
	lines := (&scanner{src: src, lines: splitLines(src), continues: true, p: p}).scan()
	fast, err1 := parseLines(lines)
	ref, err2 := parseLinesGrammar(lines)
	if err1 != nil || err2 != nil {
		t.Fatalf("token stream rejected: recognizer %v, grammar %v", err1, err2)
	}
	if len(ref.Instrs) == 0 && len(fast.Instrs) == 0 {
		return
	}
	for i := range ref.Instrs {
		// participle leaves an empty flag list nil, as the recognizer does.
		if !reflect.DeepEqual(fast.Instrs[i], ref.Instrs[i]) {
			t.Fatalf("instruction %d: recognizer %+v, grammar %+v", i, fast.Instrs[i], ref.Instrs[i])
		}
	}
	if len(fast.Instrs) != len(ref.Instrs) {
		t.Fatalf("recognizer found %d instructions, grammar %d", len(fast.Instrs), len(ref.Instrs))
	}
}

func TestGrammarAgrees(t *testing.T) {
	for name, src := range corpus(t) {
		t.Run(name, func(t *testing.T) { grammarAgrees(t, src) })
	}
	paths, _ := filepath.Glob("testdata/parse/*.txtar")
	for _, path := range paths {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			if f.Name == "Wrennfile" {
				t.Run(filepath.Base(path), func(t *testing.T) { grammarAgrees(t, f.Data) })
			}
		}
	}
	grammarAgrees(t, bigWrennfile(200))
}
