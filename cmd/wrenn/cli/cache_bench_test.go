package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"wrenn.dev/wrenn/cache"
)

// BenchmarkCacheLs100k is the whole `wrenn cache ls` a person waits for:
// open the store, read 100,000 records, sort them, print the table.
func BenchmarkCacheLs100k(b *testing.B) {
	dir := b.TempDir()
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	recs := make([]cache.Record, 100_000)
	for i := range recs {
		recs[i] = cache.Record{Key: fmt.Sprintf("sha256:%064x", i+1), Snapshot: cache.SnapshotRef{Agent: "a", ID: fmt.Sprintf("layer-%d", i)},
			Text: fmt.Sprintf("RUN step %d of a fairly ordinary build", i), SizeBytes: int64(1000 + i), Preimage: []byte(strings.Repeat("p", 600)),
			Created: now.Add(-time.Duration(i) * time.Minute), LastUsed: now.Add(-time.Duration((i*7919)%100_000) * time.Second)}
		if i%100 != 0 {
			recs[i].Parents = []string{recs[i-1].Key}
		}
	}
	if err := s.PutMany(context.Background(), recs); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	for _, format := range []string{"table", "json"} {
		b.Run(format, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if code := Run([]string{"cache", "ls", "--cache-dir", dir, "--format", format}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
					b.Fatalf("exit %d", code)
				}
			}
		})
	}
}
