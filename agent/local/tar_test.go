package local

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"
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
