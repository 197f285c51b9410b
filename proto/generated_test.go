package proto_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsFresh regenerates every .proto file into a temporary
// directory and fails when the checked-in code differs, or when generated
// code is checked in whose .proto file is gone.
func TestGeneratedCodeIsFresh(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Fatal("protoc not found: install protobuf-compiler (scripts/deps.sh does)")
	}
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./internal/protogen", "-src", ".", "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("regenerate: %v\n%s", err, b)
	}
	fresh := generatedFiles(t, out)
	if len(fresh) == 0 {
		t.Fatal("the generator wrote no files")
	}
	for rel, want := range fresh {
		got, err := os.ReadFile(rel)
		if err != nil {
			t.Errorf("%s: not checked in (run 'go generate ./proto')", rel)
			continue
		}
		if !bytes.Equal(stripToolVersions(got), stripToolVersions(want)) {
			t.Errorf("%s is stale: run 'go generate ./proto'", rel)
		}
	}
	for rel := range generatedFiles(t, ".") {
		if _, ok := fresh[rel]; !ok {
			t.Errorf("%s has no .proto source any more: delete it", rel)
		}
	}
}

// generatedFiles maps the generated files under dir (relative paths) to
// their content.
func generatedFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !strings.HasSuffix(path, ".pb.go") && !strings.HasSuffix(path, ".connect.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// stripToolVersions drops the "// \tprotoc vX" header line: the plugins are
// pinned by go.mod, but protoc comes from the system package, and a patch
// release of it does not change the generated code.
func stripToolVersions(b []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("// \tprotoc ")) || bytes.HasPrefix(line, []byte("//	protoc ")) {
			continue
		}
		out = append(out, line)
	}
	return bytes.Join(out, []byte("\n"))
}
