package lint

import (
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"wrenn.dev/wrenn/lang"
)

// FuzzRun checks Run's invariants on any input: no panic, every range
// inside the source and in this file, output sorted, and no error ever
// dropped by a suppression (the errors of Run are a superset of the
// parser's).
func FuzzRun(f *testing.F) {
	files, _ := filepath.Glob("testdata/rules/*.txtar")
	for _, path := range files {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range ar.Files {
			if file.Name != "want" && file.Name != "config" {
				f.Add(file.Data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		_, parsed := lang.Parse("W", src)
		_, ds := Run("W", src, Config{})
		for i, d := range ds {
			r := d.Range
			if r.File != "W" || r.Start.Offset < 0 || r.Start.Offset > r.End.Offset || r.End.Offset > len(src) {
				t.Fatalf("range outside the source: %s %+v", d.Error(), r)
			}
			if i > 0 && ds[i-1].Range.Start.Offset > r.Start.Offset {
				t.Fatalf("not sorted: %s before %s", ds[i-1].Error(), d.Error())
			}
		}
		for _, e := range parsed.Errors() {
			found := false
			for _, d := range ds {
				found = found || d.Code == e.Code && d.Range == e.Range && d.Message == e.Message
			}
			if !found {
				t.Fatalf("parser error lost: %s", e.Error())
			}
		}
	})
}
