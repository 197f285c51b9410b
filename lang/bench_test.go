package lang

import (
	"fmt"
	"strings"
	"testing"
)

// bigWrennfile generates a realistic file of n instructions: every kind,
// flags, continuations and comments.
func bigWrennfile(n int) []byte {
	var b strings.Builder
	b.WriteString("# wrenn:skip-pre-post=true\nARG VERSION=1.0\nFROM minimal AS build\n")
	for i := 3; i < n; i++ {
		switch i % 8 {
		case 0:
			fmt.Fprintf(&b, "RUN --timeout=5m apt-get install -y pkg%d && \\\n    rm -rf /var/lib/apt/lists/*\n", i)
		case 1:
			fmt.Fprintf(&b, "ENV VAR_%d=value %d with spaces\n", i, i)
		case 2:
			fmt.Fprintf(&b, "# step %d\nCOPY --chown=app:app src/file%d.txt conf/%d.toml /opt/app/\n", i, i, i)
		case 3:
			fmt.Fprintf(&b, "WORKDIR /opt/app/dir%d\n", i)
		case 4:
			fmt.Fprintf(&b, "RUN if [ -f x%d ]; then echo \"$HOME\" | tr a-z A-Z > /tmp/out%d; fi\n", i, i)
		case 5:
			fmt.Fprintf(&b, "USER user%d\n", i)
		case 6:
			fmt.Fprintf(&b, "run --user=root --no-cache make -C /src/%d install\n", i)
		case 7:
			fmt.Fprintf(&b, "ARG A%d=x\n", i)
		}
	}
	b.WriteString("START python3 -m http.server\n")
	return []byte(b.String())
}

// BenchmarkParse1000 parses a 1,000-instruction Wrennfile (shell bodies
// included) and reports the cost per instruction.
func BenchmarkParse1000(b *testing.B) {
	src := bigWrennfile(1000)
	f, ds := Parse("W", src)
	if ds.HasErrors() {
		b.Fatal(dumpDiags(ds))
	}
	n := 0
	for _, st := range f.Stages {
		n += len(st.Instructions)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Parse("W", src)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/instr")
}

// BenchmarkGrammar measures the participle grammar alone over the scanned
// instructions of the same file: the reason parseLines recognizes the
// tokens by hand.
func BenchmarkGrammar(b *testing.B) {
	src := bigWrennfile(1000)
	p := &parser{file: &File{}, li: NewLineIndex("W", src)}
	lines := (&scanner{src: src, lines: splitLines(src), continues: true, p: p}).scan()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseLinesGrammar(lines); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(lines)), "ns/instr")
}
