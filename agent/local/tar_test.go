package local

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wrenn.dev/wrenn/internal/tartest"
)

// tarNames lists the entry names of a tar stream.
func tarNames(t testing.TB, data []byte) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names[hdr.Name] = true
	}
}

// TestExtractReplacesDirectoriesInOrder: the extraction keeps a handle of
// each directory files went into; an entry that replaces such a directory
// (a symlink, a file) drops the handles, so later entries under the old
// path go where the sequential extraction puts them: through the symlink,
// resolved inside the root.
func TestExtractReplacesDirectoriesInOrder(t *testing.T) {
	data := tartest.Write(t, []tartest.Entry{
		{Header: &tar.Header{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755}, Body: nil},
		{Header: &tar.Header{Name: "a/f1", Typeflag: tar.TypeReg, Mode: 0o644}, Body: []byte("one\n")},
		{Header: &tar.Header{Name: "a", Typeflag: tar.TypeSymlink, Linkname: "/b"}, Body: nil},
		{Header: &tar.Header{Name: "b/", Typeflag: tar.TypeDir, Mode: 0o755}, Body: nil},
		{Header: &tar.Header{Name: "a/f2", Typeflag: tar.TypeReg, Mode: 0o644}, Body: []byte("two\n")},
		{Header: &tar.Header{Name: "c/", Typeflag: tar.TypeDir, Mode: 0o755}, Body: nil},
		{Header: &tar.Header{Name: "c/x", Typeflag: tar.TypeReg, Mode: 0o644}, Body: []byte("x\n")},
		{Header: &tar.Header{Name: "c", Typeflag: tar.TypeReg, Mode: 0o600}, Body: []byte("file c\n")},
		{Header: &tar.Header{Name: "c2/", Typeflag: tar.TypeDir, Mode: 0o755}, Body: nil},
		{Header: &tar.Header{Name: "c2/y", Typeflag: tar.TypeReg, Mode: 0o644}, Body: []byte("y\n")},
	})
	dir := t.TempDir()
	if err := extractTar(t.Context(), bytes.NewReader(data), dir, false); err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "a")); err != nil || l != "/b" {
		t.Errorf("a: %q, %v; want the symlink to /b", l, err)
	}
	for p, want := range map[string]string{"b/f2": "two\n", "c": "file c\n", "c2/y": "y\n"} {
		if got, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", p, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "b", "f1")); err == nil {
		t.Error("b/f1: the file of the replaced directory a/ reappeared")
	}
}

// TestExtractFileOverDirectoryThenUnder: after a file replaced a directory
// files went into, an entry under the old directory fails as in the
// sequential extraction (the file is no directory) instead of landing in
// the removed one.
func TestExtractFileOverDirectoryThenUnder(t *testing.T) {
	data := tartest.Write(t, []tartest.Entry{
		{Header: &tar.Header{Name: "c/", Typeflag: tar.TypeDir, Mode: 0o755}, Body: nil},
		{Header: &tar.Header{Name: "c/x", Typeflag: tar.TypeReg, Mode: 0o644}, Body: []byte("x\n")},
		{Header: &tar.Header{Name: "c", Typeflag: tar.TypeReg, Mode: 0o600}, Body: []byte("file c\n")},
		{Header: &tar.Header{Name: "c/z", Typeflag: tar.TypeReg, Mode: 0o644}, Body: []byte("z\n")},
	})
	dir := t.TempDir()
	err := extractTar(t.Context(), bytes.NewReader(data), dir, false)
	if err == nil || !strings.Contains(err.Error(), `"c/z"`) {
		t.Errorf("extract = %v, want an error for c/z", err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "c")); err != nil || string(got) != "file c\n" {
		t.Errorf("c = %q, %v", got, err)
	}
}

// TestExtractDirectoryOverSymlink: a directory entry that replaces a
// symlink files already went through gets the later files, as in a
// sequential extraction; the earlier ones stay where the symlink led.
func TestExtractDirectoryOverSymlink(t *testing.T) {
	data := tartest.Write(t, []tartest.Entry{
		{Header: &tar.Header{Name: "b/", Typeflag: tar.TypeDir, Mode: 0o755}, Body: nil},
		{Header: &tar.Header{Name: "a", Typeflag: tar.TypeSymlink, Linkname: "b"}, Body: nil},
		{Header: &tar.Header{Name: "a/f", Typeflag: tar.TypeReg, Mode: 0o644}, Body: []byte("f\n")},
		{Header: &tar.Header{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755}, Body: nil},
		{Header: &tar.Header{Name: "a/g", Typeflag: tar.TypeReg, Mode: 0o644}, Body: []byte("g\n")},
	})
	dir := t.TempDir()
	if err := extractTar(t.Context(), bytes.NewReader(data), dir, false); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"b/f": "f\n", "a/g": "g\n"} {
		if got, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", p, got, err, want)
		}
	}
	if fi, err := os.Lstat(filepath.Join(dir, "a")); err != nil || !fi.IsDir() {
		t.Errorf("a is not a directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b", "g")); err == nil {
		t.Error("b/g: a file after the directory entry went through the old symlink")
	}
}
