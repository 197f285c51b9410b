package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"wrenn.dev/wrenn/compiler"
)

// benchWrennfile is the benchmark's n-step Wrennfile: one FROM, then five
// instruction shapes in turn. bench/compile/gen.sh writes the same text
// (and the equivalent Dockerfile for the BuildKit comparison);
// TestBenchWrennfileMatchesGenScript keeps the two equal.
func benchWrennfile(n int) []byte {
	var b strings.Builder
	b.WriteString("FROM minimal\n")
	for i := 1; i <= n; i++ {
		switch i % 5 {
		case 1:
			fmt.Fprintf(&b, "RUN mkdir -p /opt/app/d%d && echo step-%d > /opt/app/d%d/stamp\n", i, i, i)
		case 2:
			fmt.Fprintf(&b, "ENV STEP_%d=value-%d\n", i, i)
		case 3:
			fmt.Fprintf(&b, "WORKDIR /opt/app/d%d\n", i)
		case 4:
			fmt.Fprintf(&b, "COPY files/f%d.txt /opt/app/d%d/\n", i, i)
		case 0:
			fmt.Fprintf(&b, "RUN test -f /opt/app/d%d/stamp || exit 1\n", i-4)
		}
	}
	return []byte(b.String())
}

func TestBenchWrennfileMatchesGenScript(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("bash", filepath.Join("..", "..", "..", "bench", "compile", "gen.sh"), "23", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "Wrennfile"))
	if err != nil {
		t.Fatal(err)
	}
	if want := benchWrennfile(23); !bytes.Equal(got, want) {
		t.Errorf("gen.sh and benchWrennfile differ:\n%s\n---\n%s", got, want)
	}
}

const benchSteps = 1000

// BenchmarkCompile is the in-process cost of checking the 1,000-step
// Wrennfile: parse and lint (checkFile), reported per step so it compares
// directly with BuildKit's ns/instr in bench/compile/buildkit.
func BenchmarkCompile(b *testing.B) {
	src := benchWrennfile(benchSteps)
	if _, diags := checkFile("Wrennfile", src, checkOptions{}); diags.HasErrors() {
		b.Fatalf("benchmark file has errors: %v", diags.Errors())
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		checkFile("Wrennfile", src, checkOptions{})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchSteps, "ns/step")
}

// BenchmarkCompileLower adds lowering to BenchmarkCompile: parse, lint and
// compiler.Compile into a plan with every layer key, against a build
// context that holds the files the COPY steps name (opened once, as a
// stat cache would keep their digests between runs).
func BenchmarkCompileLower(b *testing.B) {
	src := benchWrennfile(benchSteps)
	bctx := benchContext(b)
	lower := func() {
		f, diags := checkFile("Wrennfile", src, checkOptions{})
		plan, cdiags := compiler.Compile(f, compiler.Options{Context: bctx})
		if diags.HasErrors() || cdiags.HasErrors() || len(plan.Steps) < benchSteps {
			b.Fatalf("benchmark plan: %d steps, errors %v %v", len(plan.Steps), diags.Errors(), cdiags.Errors())
		}
	}
	lower()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		lower()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchSteps, "ns/step")
}

// BenchmarkLowerOnly is BenchmarkCompileLower's lowering alone:
// compiler.Compile of the already parsed and linted file.
func BenchmarkLowerOnly(b *testing.B) {
	bctx := benchContext(b)
	f, diags := checkFile("Wrennfile", benchWrennfile(benchSteps), checkOptions{})
	if diags.HasErrors() {
		b.Fatal(diags.Errors())
	}
	compiler.Compile(f, compiler.Options{Context: bctx})
	b.ReportAllocs()
	for b.Loop() {
		compiler.Compile(f, compiler.Options{Context: bctx})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchSteps, "ns/step")
}

// benchContext is a build context holding the files the benchmark
// file's COPY steps name, opened once (as a stat cache would keep their
// digests between runs).
func benchContext(b *testing.B) *compiler.Context {
	dir := b.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "files"), 0o755); err != nil {
		b.Fatal(err)
	}
	for i := 4; i <= benchSteps; i += 5 {
		if err := os.WriteFile(filepath.Join(dir, "files", fmt.Sprintf("f%d.txt", i)), []byte(fmt.Sprint(i)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	bctx, err := compiler.OpenContext(dir, compiler.ContextOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return bctx
}

// BenchmarkCompileCommand runs the whole `wrenn compile -q FILE` command
// in-process: flag parsing, reading the file, checking, printing.
func BenchmarkCompileCommand(b *testing.B) {
	path := filepath.Join(b.TempDir(), "Wrennfile")
	if err := os.WriteFile(path, benchWrennfile(benchSteps), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if code := Run([]string{"compile", "-q", path}, nil, io.Discard, io.Discard); code != ExitOK {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchSteps, "ns/step")
}
