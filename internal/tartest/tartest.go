// Package tartest reads tar streams back in tests: the entries, in order,
// each with its content.
//
// Imports: the standard library only (any wrenn test may use it).
package tartest

import (
	"archive/tar"
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
