package format_test

import (
	"testing"

	"wrenn.dev/wrenn/lang/format"
)

// BenchmarkFormatCorpus formats every valid corpus Wrennfile once per
// iteration: what `wrenn fmt` and the editor's format-on-save cost.
func BenchmarkFormatCorpus(b *testing.B) {
	var files []corpusFile
	size := 0
	for _, c := range corpus(b) {
		if _, err := format.Source(c.name, c.src); err == nil {
			files = append(files, c)
			size += len(c.src)
		}
	}
	if len(files) == 0 {
		b.Fatal("no valid corpus files")
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range files {
			if _, err := format.Source(c.name, c.src); err != nil {
				b.Fatal(err)
			}
		}
	}
}
