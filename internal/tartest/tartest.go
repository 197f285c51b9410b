// Package tartest reads tar streams back in tests (the entries, in order,
// each with its content) and writes small ones.
//
// Imports: the standard library only (any wrenn test may use it).
package tartest

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
)

// Entry is one tar entry and its content.
type Entry struct {
	*tar.Header
	Body []byte
}

// Read reads every entry of the tar stream r, failing t on a malformed one.
func Read(t testing.TB, r io.Reader) []Entry {
	t.Helper()
	tr := tar.NewReader(r)
	var out []Entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading tar entry %s: %v", h.Name, err)
		}
		out = append(out, Entry{Header: h, Body: body})
	}
}

// Write returns a tar stream of entries, in order; each header's Size is
// its Body's length.
func Write(t testing.TB, entries []Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := *e.Header
		h.Size = int64(len(e.Body))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("writing tar entry %s: %v", h.Name, err)
		}
		if _, err := tw.Write(e.Body); err != nil {
			t.Fatalf("writing tar entry %s: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
