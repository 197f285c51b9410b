package format_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// corpusFile is one Wrennfile of the test corpora.
type corpusFile struct {
	name string
	src  []byte
}

// corpusRoots are the directories, relative to this package, holding the
// repository's example and test Wrennfiles: plain files, and txtar
// archives whose Wrennfile members are taken.
var corpusRoots = []string{
	"../../testdata/wrennfiles",
	"../testdata",
	"../lint/testdata",
	"testdata",
}

func corpus(t testing.TB) []corpusFile {
	var out []corpusFile
	for _, root := range corpusRoots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return filepath.SkipDir
				}
				return err
			}
			if d.IsDir() {
				return nil
			}
			rel := filepath.ToSlash(path)
			switch {
			case strings.HasSuffix(path, ".txtar"):
				ar, err := txtar.ParseFile(path)
				if err != nil {
					return err
				}
				for _, f := range ar.Files {
					if isWrennfileName(f.Name) {
						out = append(out, corpusFile{rel + "/" + f.Name, f.Data})
					}
				}
			case isWrennfileName(d.Name()):
				src, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				out = append(out, corpusFile{rel, src})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// isWrennfileName says whether a file or archive member holds a Wrennfile.
func isWrennfileName(name string) bool {
	base := filepath.Base(name)
	return base == "Wrennfile" || base == "in" || strings.HasSuffix(base, ".Wrennfile") ||
		strings.HasPrefix(base, "Wrennfile.") || strings.HasSuffix(base, ".wrenn")
}
