package lang

import (
	"os"
	"path/filepath"
	"testing"
)

// corpus returns the example Wrennfiles under testdata/wrennfiles, which
// other packages use as goldens and fuzz seeds: they must stay clean.
func corpus(t testing.TB) map[string][]byte {
	paths, err := filepath.Glob("../testdata/wrennfiles/*.Wrennfile")
	if err != nil || len(paths) < 10 {
		t.Fatalf("want at least 10 corpus files, got %d (%v)", len(paths), err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

func TestCorpusParsesClean(t *testing.T) {
	for name, src := range corpus(t) {
		f, ds := Parse(name, src)
		if len(ds) > 0 {
			t.Errorf("%s: want no diagnostics, got:\n%s", name, dumpDiags(ds))
		}
		n := 0
		for _, st := range f.Stages {
			n += len(st.Instructions)
		}
		if n == 0 {
			t.Errorf("%s: no instructions parsed", name)
		}
	}
}
