package cache_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/cache/cachetest"
)

func TestBucketIsolatedAndAtomic(t *testing.T) {
	dir := t.TempDir()
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	builds, err := s.Bucket("builds")
	if err != nil {
		t.Fatal(err)
	}
	queue, _ := s.Bucket("queue")
	if _, err := s.Bucket("Bad/Name"); err == nil {
		t.Error("bad bucket name accepted")
	}
	_ = s.Put(bg, cachetest.Rec(1, -1))
	_ = builds.Put(bg, "b1", []byte("one"))
	_ = builds.Put(bg, "b2", []byte("two"))
	_ = queue.Put(bg, "b1", []byte("q"))
	if v, err := builds.Get(bg, "b1"); err != nil || string(v) != "one" {
		t.Errorf("Get = %q %v", v, err)
	}
	if _, err := builds.Get(bg, "zz"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	// A failing Update writes nothing.
	boom := errors.New("boom")
	err = builds.Update(bg, func(tx *cache.BucketTxn) error {
		_ = tx.Put("b3", []byte("three"))
		_ = tx.Delete("b1")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	var keys []string
	_ = builds.View(bg, func(tx *cache.BucketTxn) error {
		return tx.Scan("", func(k string, _ []byte) error { keys = append(keys, k); return nil })
	})
	if !reflect.DeepEqual(keys, []string{"b1", "b2"}) {
		t.Errorf("builds = %v", keys)
	}
	// Buckets do not show up as records, and survive a reopen.
	n := 0
	_ = s.Records(bg, false, func(cache.Record) error { n++; return nil })
	if n != 1 {
		t.Errorf("%d records", n)
	}
	s.Close()
	s, _ = cache.Open(dir, cache.Options{})
	defer s.Close()
	q, _ := s.Bucket("queue")
	if v, err := q.Get(bg, "b1"); err != nil || string(v) != "q" {
		t.Errorf("after reopen: %q %v", v, err)
	}
}

func TestPruneStatCache(t *testing.T) {
	s, err := cache.Open(t.TempDir(), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := t.TempDir()
	keep, gone, changed := filepath.Join(dir, "keep"), filepath.Join(dir, "gone"), filepath.Join(dir, "changed")
	for _, p := range []string{keep, changed} {
		if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := func(p string) cache.StatKey {
		st, err := os.Lstat(p)
		if err != nil {
			return cache.StatKey{Path: p, Size: 3, MTime: 1}
		}
		return cache.StatKey{Path: p, Size: st.Size(), MTime: st.ModTime().UnixNano(), Mode: 0o644}
	}
	for _, p := range []string{keep, gone, changed} {
		_ = s.StatPut(bg, key(p), "sha256:x")
	}
	old := key(changed)
	if err := os.WriteFile(changed, []byte("abcdef"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneStatCache(bg)
	if err != nil || n != 2 {
		t.Fatalf("dropped %d, %v; want 2", n, err)
	}
	if _, ok, _ := s.StatGet(bg, key(keep)); !ok {
		t.Error("entry of an unchanged file dropped")
	}
	if _, ok, _ := s.StatGet(bg, old); ok {
		t.Error("entry of a changed file kept")
	}
}
