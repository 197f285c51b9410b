package cache_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
)

// countingStore counts the stat calls that reach a real store.
type countingStore struct {
	cache.Store
	gets, puts, scans, putAlls atomic.Int32
}

func (c *countingStore) StatGet(ctx context.Context, k cache.StatKey) (string, bool, error) {
	c.gets.Add(1)
	return c.Store.StatGet(ctx, k)
}
func (c *countingStore) StatPut(ctx context.Context, k cache.StatKey, d string) error {
	c.puts.Add(1)
	return c.Store.StatPut(ctx, k, d)
}
func (c *countingStore) StatScan(ctx context.Context, dir string, fn func(cache.StatKey, string) error) error {
	c.scans.Add(1)
	return c.Store.StatScan(ctx, dir, fn)
}
func (c *countingStore) StatPutAll(ctx context.Context, m map[cache.StatKey]string) error {
	c.putAlls.Add(1)
	return c.Store.StatPutAll(ctx, m)
}

// A context hashed twice through a rooted StatCache over Badger on disk:
// the first build reads every file and writes all digests in one
// transaction at Flush; the second (a new process: store reopened) reads
// no file, and the store sees one scan and no per-file Get.
func TestStatCacheUnderBatches(t *testing.T) {
	cacheDir, ctxDir := t.TempDir(), t.TempDir()
	old := time.Now().Add(-time.Hour)
	var rels []string
	for i := range 50 {
		rel := filepath.Join("d", strings.Repeat("f", 1+i%5)+string(rune('a'+i%26))+string(rune('a'+i/26)))
		rels = append(rels, rel)
		p := filepath.Join(ctxDir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	build := func() (reads int32, cs *countingStore, sum digest.Digest) {
		s, err := cache.Open(cacheDir, cache.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		cs = &countingStore{Store: s}
		sc := cache.NewStatCache(context.Background(), cs).Under(ctxDir)
		var n atomic.Int32
		c, err := compiler.OpenContext(ctxDir, compiler.ContextOptions{StatCache: sc, Open: func(p string) (io.ReadCloser, error) {
			n.Add(1)
			return os.Open(p)
		}})
		if err != nil {
			t.Fatal(err)
		}
		var ents []*compiler.Entry
		for _, rel := range rels {
			e, ok := c.Lookup(rel)
			if !ok {
				t.Fatalf("%s not in the context", rel)
			}
			ents = append(ents, e)
		}
		if err := c.Hash(ents); err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			sum += e.Digest()
		}
		if err := sc.Flush(); err != nil {
			t.Fatal(err)
		}
		return n.Load(), cs, sum
	}
	r1, cs1, sum1 := build()
	if r1 != 50 || cs1.puts.Load() != 0 || cs1.putAlls.Load() != 1 {
		t.Errorf("first build: %d files read, %d Puts, %d PutAlls; want 50, 0, 1", r1, cs1.puts.Load(), cs1.putAlls.Load())
	}
	r2, cs2, sum2 := build()
	if r2 != 0 || cs2.gets.Load() != 0 || cs2.scans.Load() != 1 || cs2.putAlls.Load() != 0 {
		t.Errorf("second build: %d files read, %d Gets, %d scans, %d PutAlls; want 0, 0, 1, 0", r2, cs2.gets.Load(), cs2.scans.Load(), cs2.putAlls.Load())
	}
	if sum1 != sum2 || sum1 == "" {
		t.Errorf("digests differ: %q vs %q", sum1, sum2)
	}
}

// Without Flush nothing is written; a path outside the root goes to the
// store directly.
func TestStatCacheOutsideRoot(t *testing.T) {
	cs := &countingStore{Store: cache.NewMemStore()}
	sc := cache.NewStatCache(context.Background(), cs).Under("/ctx")
	st := compiler.FileStat{Size: 3, MtimeNS: 9}
	sc.Put("/ctx/a", st, "sha256:a")
	if d, ok := sc.Get("/ctx/a", st); !ok || d != "sha256:a" {
		t.Errorf("held Put not visible: %q %v", d, ok)
	}
	if _, ok, _ := cs.Store.StatGet(context.Background(), cache.StatKey{Path: "/ctx/a", Size: 3, MTime: 9}); ok {
		t.Error("Put reached the store before Flush")
	}
	if _, ok := sc.Get("/ctx2/a", st); ok || cs.gets.Load() != 1 {
		t.Errorf("a path outside the root: hit %v, %d store Gets", ok, cs.gets.Load())
	}
	if err := sc.Flush(); err != nil {
		t.Fatal(err)
	}
	if d, ok, _ := cs.Store.StatGet(context.Background(), cache.StatKey{Path: "/ctx/a", Size: 3, MTime: 9}); !ok || d != "sha256:a" {
		t.Errorf("after Flush: %q %v", d, ok)
	}
}
