package local

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wrenn.dev/wrenn/internal/tartest"
)

// BenchmarkDigestTree hashes a commit the size of the build benchmark's
// COPY: 2,000 files of 25 KB in 20 directories (50 MB), in the page cache.
func BenchmarkDigestTree(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 25600)
	for i := 0; i < 2000; i++ {
		d := filepath.Join(dir, fmt.Sprintf("d%d", i%20))
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		_, _ = rand.Read(data)
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%d.bin", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(2000 * 25600)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := digestTree(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// writeTree's pipeline sends every file whole, across chunk boundaries,
// in lexical order, with hard links and symlinks as such.
func TestWriteTreeContent(t *testing.T) {
	dir := t.TempDir()
	want := map[string][]byte{}
	for i, size := range []int{0, 1, 256 << 10, 256<<10 + 1, 1<<20 + 3} {
		data := make([]byte, size)
		_, _ = rand.Read(data)
		name := fmt.Sprintf("d/f%d", i)
		if err := os.MkdirAll(filepath.Join(dir, "d"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		want[name] = data
	}
	if err := os.Link(filepath.Join(dir, "d/f4"), filepath.Join(dir, "hard")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("d/f1", filepath.Join(dir, "sym")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := writeTree(dir, &buf, true); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range tartest.Read(t, &buf) {
		names = append(names, h.Name)
		if w, ok := want[h.Name]; ok && !bytes.Equal(h.Body, w) {
			t.Errorf("%s: %d bytes back, want %d equal ones", h.Name, len(h.Body), len(w))
		}
		if h.Name == "d/f4" && h.Typeflag != tar.TypeReg || h.Name == "hard" && (h.Typeflag != tar.TypeLink || h.Linkname != "d/f4") ||
			h.Name == "sym" && h.Linkname != "d/f1" {
			t.Errorf("%s: type %c link %q", h.Name, h.Typeflag, h.Linkname)
		}
	}
	if got := strings.Join(names, " "); got != "d/ d/f0 d/f1 d/f2 d/f3 d/f4 hard sym" {
		t.Errorf("entries %s", got)
	}
}
