package cache_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/cache/cachetest"
)

// BenchmarkLookupPlan100 is the executor's first question: which of a
// 100-step plan's keys are cached, against a store of 100,000 records (90
// of the 100 hit).
func BenchmarkLookupPlan100(b *testing.B) {
	s, err := cache.Open(b.TempDir(), cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	keys := cache.FillForBench(b, s, 100_000, "a")
	plan := make([]string, 100)
	for i := range plan {
		if i < 90 {
			plan[i] = keys[50_000+i]
		} else {
			plan[i] = fmt.Sprintf("sha256:%064x", 10_000_000+i)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := s.Lookup(bg, plan)
		if err != nil || len(got) != 90 {
			b.Fatalf("%d hits, %v", len(got), err)
		}
	}
}

// BenchmarkList100k is `wrenn cache ls` without printing: read 100,000
// records, work out the refs, sort by last use.
func BenchmarkList100k(b *testing.B) {
	s, err := cache.Open(b.TempDir(), cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	keys := cache.FillForBench(b, s, 100_000, "a")
	for i := 0; i < 20; i++ {
		_ = s.PutRef(bg, cache.Ref{Name: fmt.Sprintf("t%d", i), Key: keys[i*1000+999]})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := cache.List(bg, s, cache.Filter{}, time.Now())
		if err != nil || len(e) != 100_000 {
			b.Fatalf("%d entries, %v", len(e), err)
		}
	}
}

// BenchmarkPrune10k deletes 10,000 unreferenced records and their agent
// layers (a fake agent in memory: this measures the cache's side).
func BenchmarkPrune10k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := cache.Open(b.TempDir(), cache.Options{})
		if err != nil {
			b.Fatal(err)
		}
		agent := cachetest.NewFakeAgent("a")
		cache.FillForBench(b, s, 10_000, "a")
		b.StartTimer()
		res, err := cache.Prune(bg, s, agent, cache.PruneOptions{All: true, KeepOrphans: true})
		if err != nil || len(res.Deleted) != 10_000 {
			b.Fatalf("deleted %d, %v", len(res.Deleted), err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

var _ = io.Discard

// BenchmarkOpenClose is the fixed cost every wrenn command that touches
// the cache pays: open a store of 100,000 records and close it.
func BenchmarkOpenClose(b *testing.B) {
	dir := b.TempDir()
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	cache.FillForBench(b, s, 100_000, "a")
	s.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := cache.Open(dir, cache.Options{})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkOpenSnapshot100k is what `cache ls` pays extra while a build
// holds the directory: copy a store of 100,000 records and open the copy.
func BenchmarkOpenSnapshot100k(b *testing.B) {
	dir := b.TempDir()
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	cache.FillForBench(b, s, 100_000, "a")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		snap, err := cache.OpenSnapshot(dir, cache.Options{})
		if err != nil {
			b.Fatal(err)
		}
		snap.Close()
	}
}
