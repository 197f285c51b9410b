package lint

import (
	"fmt"
	"strings"
	"testing"

	"wrenn.dev/wrenn/lang"
)

// wrennfile1000 is a realistic file of n instructions: every kind, shell
// bodies of typical length, some continuations.
func wrennfile1000(n int) []byte {
	var b strings.Builder
	b.WriteString("# wrenn:lint-info=apt-no-install-recommends\nFROM minimal AS build\nARG VERSION=1.2.3\n")
	i := 3
	for i < n-3 {
		switch i % 10 {
		case 0:
			fmt.Fprintf(&b, "RUN sudo apt-get install -y --no-install-recommends pkg%d && echo done\n", i)
		case 1:
			fmt.Fprintf(&b, "ENV VAR_%d=value-$VERSION\n", i)
		case 2:
			fmt.Fprintf(&b, "WORKDIR /opt/app%d\n", i)
		case 3:
			fmt.Fprintf(&b, "COPY src%d/ /opt/app/src%d/\n", i, i)
		case 4:
			fmt.Fprintf(&b, "RUN --timeout=5m make -C /opt/app%d \\\n    CFLAGS=-O2 && \\\n    make install\n", i)
		case 5:
			fmt.Fprintf(&b, "USER user%d\n", i%3)
		case 6:
			fmt.Fprintf(&b, "RUN if [ -f /etc/x%d ]; then cat /etc/x%d | grep -v '^#' > /tmp/y; fi\n", i, i)
		case 7:
			fmt.Fprintf(&b, "# a comment\nRUN pip install --no-cache-dir pkg%d==1.0\n", i)
		case 8:
			fmt.Fprintf(&b, "RUN for f in a b c; do echo \"$f-%d\" >> /tmp/list; done\n", i)
		case 9:
			fmt.Fprintf(&b, "RUN curl -fsSLo /tmp/f%d https://example.com/f%d && sha256sum /tmp/f%d\n", i, i, i)
		}
		i++
	}
	b.WriteString("USER wrenn-user\nSTART python3 -m http.server 8080\nHEALTHCHECK --interval=1s CMD wget -qO- http://localhost:8080/\n")
	return []byte(b.String())
}

func countInstr(f *lang.File) int {
	n := 0
	for _, s := range f.Stages {
		n += len(s.Instructions)
	}
	return n
}

// BenchmarkLint1000 measures parse+lint (Run) and lint alone (Check) on a
// 1,000-instruction file, reporting ns per instruction against the budget
// of 4 µs per instruction for parse+lint+lower together.
func BenchmarkLint1000(b *testing.B) {
	src := wrennfile1000(1000)
	f, _ := Run("Wrennfile", src, Config{})
	n := countInstr(f)
	if n < 990 {
		b.Fatalf("benchmark file has %d instructions, want ~1000", n)
	}
	b.Run("parse+lint", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Run("Wrennfile", src, Config{})
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/instr")
	})
	b.Run("lint", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Check(f, Config{})
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/instr")
	})
}
