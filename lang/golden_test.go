package lang

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/parse")

// TestGolden parses the input of every testdata/parse/*.txtar archive
// ("Wrennfile", or "recipe.json" for ParseRecipe) and compares the tree
// dump and the diagnostics with the archive's "tree" and "diagnostics"
// files. With -update it rewrites them instead.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var f *File
			var ds Diagnostics
			for _, af := range ar.Files {
				switch af.Name {
				case "Wrennfile":
					f, ds = Parse("Wrennfile", af.Data)
				case "recipe.json":
					var lines []string
					if err := json.Unmarshal(af.Data, &lines); err != nil {
						t.Fatal(err)
					}
					f, ds = ParseRecipe("recipe", lines)
				}
			}
			if f == nil {
				t.Fatal("archive has no Wrennfile or recipe.json")
			}
			for _, af := range ar.Files {
				switch af.Name {
				case "Wrennfile", "recipe.json", "tree", "diagnostics":
				default:
					t.Errorf("unknown section %q: a golden nobody checks", af.Name)
				}
			}
			got := map[string]string{"tree": dump(f), "diagnostics": dumpDiags(ds)}
			if *update {
				var out []txtar.File
				for _, af := range ar.Files {
					if _, ok := got[af.Name]; !ok {
						out = append(out, af)
					}
				}
				out = append(out, txtar.File{Name: "tree", Data: []byte(got["tree"])}, txtar.File{Name: "diagnostics", Data: []byte(got["diagnostics"])})
				ar.Files = out
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, af := range ar.Files {
				want, ok := got[af.Name]
				if !ok {
					continue
				}
				delete(got, af.Name)
				if string(af.Data) != want {
					diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: difflib.SplitLines(string(af.Data)), B: difflib.SplitLines(want), FromFile: "want", ToFile: "got", Context: 2})
					t.Errorf("%s differs (run go test ./lang -run TestGolden -update):\n%s", af.Name, diff)
				}
			}
			for name := range got {
				t.Errorf("archive has no %q section (run with -update)", name)
			}
		})
	}
}
