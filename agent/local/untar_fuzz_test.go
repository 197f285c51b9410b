package local

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzExtractTar checks that no archive, however crafted, writes outside
// the directory it is extracted into, and that extraction never panics.
func FuzzExtractTar(f *testing.F) {
	seed := func(entries ...*tar.Header) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range entries {
			if h.Typeflag == tar.TypeReg {
				h.Size = 1
			}
			tw.WriteHeader(h)
			if h.Size > 0 {
				tw.Write([]byte("x"))
			}
		}
		tw.Close()
		return buf.Bytes()
	}
	f.Add(seed(&tar.Header{Name: "../out", Typeflag: tar.TypeReg, Mode: 0o644}))
	f.Add(seed(&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: ".."}, &tar.Header{Name: "l/out", Typeflag: tar.TypeReg, Mode: 0o644}))
	f.Add(seed(&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/"}, &tar.Header{Name: "l/d/", Typeflag: tar.TypeDir, Mode: 0o755}, &tar.Header{Name: "l/d/out", Typeflag: tar.TypeReg}))
	f.Add(seed(&tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../sibling/file"}))
	f.Add(seed(&tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755}, &tar.Header{Name: "d/.wh.x", Typeflag: tar.TypeReg}, &tar.Header{Name: "d/.wh..wh..opq", Typeflag: tar.TypeReg}))
	f.Add(seed(&tar.Header{Name: "./a/./b/../c", Typeflag: tar.TypeReg, Mode: 0o4755}))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		sibling := filepath.Join(parent, "sibling")
		if err := os.MkdirAll(sibling, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sibling, "file"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(parent, "dest")
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, asLayer := range []bool{false, true} {
			_ = extractTar(context.Background(), bytes.NewReader(data), dest, asLayer)
			ents, _ := os.ReadDir(parent)
			if len(ents) != 2 {
				t.Fatalf("extraction wrote next to dest: %v", ents)
			}
			if got, _ := os.ReadFile(filepath.Join(sibling, "file")); string(got) != "keep" {
				t.Fatalf("extraction changed a file outside dest: %q", got)
			}
			if ents, _ := os.ReadDir(sibling); len(ents) != 1 {
				t.Fatalf("extraction wrote into a sibling: %v", ents)
			}
		}
	})
}
