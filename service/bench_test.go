package service

import (
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkQueue200 queues 200 small builds on 4 workers with a runner
// that does no work, measuring the service's own overhead: durable record
// writes, the Badger queue and the event fan-out. It reports builds per
// second and the p50/p99 time a build waited in the queue, and fails if a
// build is lost.
func BenchmarkQueue200(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ts := startServer(b, b.TempDir(), nil, newFakeRunner(), Config{Workers: 4})
		b.StartTimer()
		start := time.Now()
		ids := make([]string, 200)
		for j := range ids {
			ids[j] = ts.create(b, "load", "RUN echo a", fmt.Sprintf("RUN echo %d", j%10)).Id
		}
		var waits []time.Duration
		for _, id := range ids {
			rec := ts.waitStatus(b, id, StatusSuccess)
			waits = append(waits, rec.StartedAt.AsTime().Sub(rec.CreatedAt.AsTime()))
		}
		elapsed := time.Since(start)
		b.StopTimer()
		ts.stop()
		sort.Slice(waits, func(a, c int) bool { return waits[a] < waits[c] })
		b.ReportMetric(float64(len(ids))/elapsed.Seconds(), "builds/s")
		b.ReportMetric(float64(waits[len(waits)/2].Milliseconds()), "p50-queue-ms")
		b.ReportMetric(float64(waits[len(waits)*99/100].Milliseconds()), "p99-queue-ms")
		b.StartTimer()
	}
}
