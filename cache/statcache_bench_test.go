package cache_test

import (
	"fmt"
	"testing"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
)

// BenchmarkStatCache2000 is the stat-cache part of re-hashing an unchanged
// 2,000-file context (issue 5's shape): 2,000 Gets, all hits, against a
// store on disk (reopened, so the entries are in tables, as on a new
// process) that also holds 20,000 entries of other contexts. per-file is
// one Badger read per Get; under is NewStatCache(...).Under(ctx): one
// prefix scan.
func BenchmarkStatCache2000(b *testing.B) {
	dir := b.TempDir()
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	all := map[cache.StatKey]string{}
	var mine []cache.StatKey
	for c := range 11 {
		for i := range 2000 {
			k := cache.StatKey{Path: fmt.Sprintf("/work/ctx%d/data/d%d/f%d.bin", c, i%20, i), Size: 25600, MTime: 1700000000123456789 + int64(i), Inode: uint64(1000 + i), Mode: 0o644}
			all[k] = fmt.Sprintf("sha256:%064x", i)
			if c == 5 {
				mine = append(mine, k)
			}
		}
	}
	if err := s.StatPutAll(bg, all); err != nil {
		b.Fatal(err)
	}
	s.Close()
	if s, err = cache.Open(dir, cache.Options{}); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, mode := range []string{"per-file", "under"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				sc := cache.NewStatCache(bg, s)
				if mode == "under" {
					sc.Under("/work/ctx5")
				}
				for _, k := range mine {
					if _, ok := sc.Get(k.Path, compiler.FileStat{Size: k.Size, MtimeNS: k.MTime, Inode: k.Inode, Mode: k.Mode}); !ok {
						b.Fatalf("miss: %+v", k)
					}
				}
			}
		})
	}
}
