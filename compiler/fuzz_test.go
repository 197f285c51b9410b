package compiler

import (
	"archive/tar"
	"path"
	"strings"
	"testing"
)

// FuzzOpenArchive checks that no archive, however malformed, panics or
// yields an entry outside the context.
func FuzzOpenArchive(f *testing.F) {
	f.Add(makeTar(f, []tarEntry{{name: "a/b", typ: tar.TypeReg, body: "x"}, {name: "a/l", typ: tar.TypeSymlink, link: "b"}}))
	f.Add(gz(makeTar(f, []tarEntry{{name: "../x", typ: tar.TypeReg, body: "x"}})))
	f.Add(makeZip(f, map[string]string{"d/f": "x"}))
	f.Add([]byte("PK\x03\x04garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := OpenArchive(data, ContextOptions{MaxBytes: 1 << 20, MaxEntries: 1000})
		if err != nil {
			return
		}
		for _, p := range c.paths {
			e := c.entries[p]
			if p != path.Clean(p) || strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") {
				t.Fatalf("entry path %q escapes", p)
			}
			if e.Type == TypeSymlink {
				r := path.Join(path.Dir(p), e.Link)
				if strings.HasPrefix(e.Link, "/") || r == ".." || strings.HasPrefix(r, "../") {
					t.Fatalf("symlink %q -> %q escapes", p, e.Link)
				}
			}
		}
	})
}
