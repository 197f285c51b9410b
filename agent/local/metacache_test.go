package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The meta cache returns what is on disk: a rewrite (by rename, as every
// writer does, or in place) is seen, a removal is seen, and a caller's
// change to what it got does not leak into the next read.
func TestMetaCacheFollowsDisk(t *testing.T) {
	b := &Backend{}
	p := filepath.Join(t.TempDir(), "meta.json")
	if err := writeJSONSync(p, &templateMeta{ID: "t1", Name: "one", Start: []startSpec{{Cmd: "a", Args: []string{"x"}}}}); err != nil {
		t.Fatal(err)
	}
	var m templateMeta
	if err := b.readMeta(p, &m); err != nil || m.Name != "one" {
		t.Fatalf("first read: %+v %v", m, err)
	}
	if len(b.meta.m) != 1 {
		t.Fatalf("not cached: %d entries", len(b.meta.m))
	}
	m.Name, m.Start[0].Args[0] = "changed", "y"
	var m2 templateMeta
	if err := b.readMeta(p, &m2); err != nil || m2.Name != "one" || m2.Start[0].Args[0] != "x" {
		t.Fatalf("cached read after the caller's change: %+v %v", m2, err)
	}
	// a rewrite by rename, same size
	if err := writeJSONSync(p, &templateMeta{ID: "t1", Name: "two", Start: []startSpec{{Cmd: "a", Args: []string{"x"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.readMeta(p, &m); err != nil || m.Name != "two" {
		t.Fatalf("after rename: %+v %v", m, err)
	}
	// an in-place rewrite, same size
	data, _ := os.ReadFile(p)
	if err := os.WriteFile(p, []byte(string(data[:len(data)-1])+" "), 0o600); err != nil {
		t.Fatal(err)
	}
	data2, _ := os.ReadFile(p)
	if err := os.WriteFile(p, []byte(strings.Replace(string(data2), `"two"`, `"six"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.readMeta(p, &m); err != nil || m.Name != "six" {
		t.Fatalf("after an in-place write: %+v %v", m, err)
	}
	// a different type at the same path is read, not copied across
	var l layerMeta
	if err := b.readMeta(p, &l); err != nil || l.ID != "t1" {
		t.Fatalf("as a layer: %+v %v", l, err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := b.readMeta(p, &m); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after removal: %v", err)
	}
	if len(b.meta.m) != 0 {
		t.Errorf("removed file still cached")
	}
}
