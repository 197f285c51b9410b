package local

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzTar builds a tar from a compact description, one entry per line:
// a type character (0 file, 1 hard link, 2 symlink, 3 char device,
// 4 block device, 5 directory, 6 fifo), the name, and after '>' the link
// target. Raw tar bytes make a poor fuzz input: almost every mutation
// breaks a header checksum, and Go's minimizer, O(n²) runs in the input's
// length, spends its 60 s on every 2 KB tar it finds interesting (the
// fuzzer then reports no execs for minutes). Lines of a few bytes let the
// mutator work on names, types and links, which is what extraction must
// keep inside its root.
func fuzzTar(desc string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, line := range strings.Split(desc, "\n") {
		if i == 16 || line == "" {
			break
		}
		name, link, _ := strings.Cut(line[1:], ">")
		h := &tar.Header{Name: name, Linkname: link, Mode: 0o755, Typeflag: line[0]}
		switch h.Typeflag {
		case tar.TypeReg:
			h.Size = 1
		case tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo:
		default:
			continue
		}
		if tw.WriteHeader(h) != nil {
			continue
		}
		if h.Size > 0 {
			tw.Write([]byte("x"))
		}
	}
	tw.Close()
	return buf.Bytes()
}

// FuzzExtractTar checks that no archive, however crafted, writes outside
// the directory it is extracted into, and that extraction never panics.
func FuzzExtractTar(f *testing.F) {
	for _, seed := range []string{
		"0../out",
		"2l>..\n0l/out",
		"2l>/\n5l/d/\n0l/d/out",
		"1h>../sibling/file",
		"5d/\n0d/.wh.x\n0d/.wh..wh..opq",
		"0./a/./b/../c",
		"2s>/sibling/file\n0s",
		"6p\n0p\n2q>p\n0q/x",
	} {
		f.Add(seed)
	}
	// One run must cost microseconds, as the minimizer runs it so often:
	// one parent per worker, on tmpfs when there is one, and a fresh dest
	// below it per run.
	parent := fuzzParent(f)
	sibling := filepath.Join(parent, "sibling")
	if err := os.MkdirAll(sibling, 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sibling, "file"), []byte("keep"), 0o644); err != nil {
		f.Fatal(err)
	}
	dest := filepath.Join(parent, "dest")
	f.Fuzz(func(t *testing.T, desc string) {
		if len(desc) > 160 {
			return // keeps minimizing an input to seconds
		}
		data := fuzzTar(desc)
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dest)
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

// fuzzParent is a directory for one fuzz worker: on /dev/shm (tmpfs) if
// possible, else the test's temporary directory.
func fuzzParent(f *testing.F) string {
	if dir, err := os.MkdirTemp("/dev/shm", "wrenn-fuzz-"); err == nil {
		f.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return f.TempDir()
}
