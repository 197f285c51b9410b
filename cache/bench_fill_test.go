package cache

import (
	"fmt"
	"testing"
	"time"
)

// fillForBench writes n chained records (100 chains of n/100 steps, each
// with a 600-byte preimage) straight through a Badger write batch, which is
// much faster than n Puts, and returns their keys in chain order. It is
// exported to the external benchmarks through export_test.go.
func fillForBench(tb testing.TB, s *BadgerStore, n int, agentID string) []string {
	tb.Helper()
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	keys := make([]string, n)
	now := time.Now().UTC()
	pre := make([]byte, 600)
	for i := range pre {
		pre[i] = 'p'
	}
	perChain := max(n/100, 1)
	for i := 0; i < n; i++ {
		keys[i] = fmt.Sprintf("sha256:%064x", i+1)
		r := Record{Key: keys[i], Snapshot: SnapshotRef{Agent: agentID, ID: fmt.Sprintf("layer-%d", i+1), Kind: KindLayer},
			Text: fmt.Sprintf("RUN step %d of a fairly ordinary build that installs some packages", i), SizeBytes: int64(1000 + i),
			Created: now.Add(-time.Duration(n-i) * time.Minute), LastUsed: now.Add(-time.Duration((i*7919)%n) * time.Minute), Hits: int64(i % 5)}
		if i%perChain != 0 {
			r.Parents = []string{keys[i-1]}
			if err := wb.Set(childKey(keys[i-1], keys[i]), nil); err != nil {
				tb.Fatal(err)
			}
		}
		if err := wb.Set(recordKey(r.Key), encodeRecord(&r)); err != nil {
			tb.Fatal(err)
		}
		if err := wb.Set(preimageKey(r.Key), encodeVersioned(pre)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		tb.Fatal(err)
	}
	// Let compaction finish now, so that it does not compete with what
	// the benchmark measures (a store at rest, as between two builds).
	if err := s.db.Flatten(1); err != nil {
		tb.Fatal(err)
	}
	return keys
}
