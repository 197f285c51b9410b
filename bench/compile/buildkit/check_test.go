package main

import (
	"os"
	"testing"
)

// BenchmarkCheck is BuildKit's in-process cost for the 1,000-instruction
// Dockerfile that ../run.sh generates (set DOCKERFILE to its path).
func BenchmarkCheck(b *testing.B) {
	path := os.Getenv("DOCKERFILE")
	if path == "" {
		b.Fatal("set DOCKERFILE to the generated Dockerfile (../run.sh does)")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	n, _, err := check(src)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := check(src); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/instr")
}
