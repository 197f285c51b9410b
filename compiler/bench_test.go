package compiler

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"wrenn.dev/wrenn/lang"
)

// BenchmarkPlan1000Steps compiles a 1,000-instruction recipe (RUN, ENV and
// WORKDIR mixed, growing env) and reports the cost per step.
func BenchmarkPlan1000Steps(b *testing.B) {
	f := plan1000File()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, _ := Compile(f, Options{})
		if p.TotalSteps() != 1007 {
			b.Fatal(p.TotalSteps())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1007, "ns/step")
}

// BenchmarkPlan1000StepsMaterialised adds what a build asks of each step
// of the same plan beyond its key: Script and Preimage (the env and ARG
// maps are materialised on the way). Compile leaves this work to the
// steps that run; this is its cost when every step does.
func BenchmarkPlan1000StepsMaterialised(b *testing.B) {
	f := plan1000File()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, _ := Compile(f, Options{})
		for _, s := range p.Steps {
			if len(s.Preimage()) == 0 || (s.Kind == lang.KindRun && s.Script() == "") {
				b.Fatal(s.ID)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1007, "ns/step")
}

func plan1000File() *lang.File {
	ab := &astBuilder{}
	var ins []lang.Instruction
	for i := range 1000 {
		switch i % 10 {
		case 0:
			ins = append(ins, ab.env("V"+itoa(i), "value-"+itoa(i)+":$PATH"))
		case 5:
			ins = append(ins, ab.workdir("/srv/w"+itoa(i)))
		default:
			ins = append(ins, ab.run("echo step "+itoa(i)+" && make -C /src target-"+itoa(i)))
		}
	}
	return file(ins...)
}

// benchTree returns WRENN_BENCH_CONTEXT (bench/context-hash.sh makes a
// 1 GiB tree there), or builds n random files of size bytes in a temp dir.
func benchTree(b *testing.B, n, size int) string {
	if d := os.Getenv("WRENN_BENCH_CONTEXT"); d != "" {
		return d
	}
	dir := b.TempDir()
	buf := make([]byte, size)
	for i := range n {
		rand.Read(buf)
		p := filepath.Join(dir, "d"+itoa(i%64), "f"+itoa(i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

func treeBytes(b *testing.B, c *Context, sel *Selection) int64 {
	var n int64
	for _, e := range sel.Files {
		n += e.Size
	}
	return n
}

// BenchmarkColdHash hashes a whole context with an empty stat cache (file
// contents in the page cache): the throughput of reading and sha256 on
// all cores.
func BenchmarkColdHash(b *testing.B) {
	dir := benchTree(b, 256, 1<<20)
	for b.Loop() {
		c, err := OpenContext(dir, ContextOptions{})
		if err != nil {
			b.Fatal(err)
		}
		sel, err := c.Select([]string{"."})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Inputs(sel); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(treeBytes(b, c, sel))
	}
}

// BenchmarkWarmRekey10k re-keys an unchanged 10,000-file tree with a warm
// stat cache: one walk, one lstat per file, no reads.
func BenchmarkWarmRekey10k(b *testing.B) {
	dir := b.TempDir()
	for i := range 10000 {
		p := filepath.Join(dir, "d"+itoa(i%100), "f"+itoa(i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("file "+itoa(i)), 0o644)
	}
	ageTree(b, dir)
	sc := NewMemStatCache()
	key := func() {
		c, err := OpenContext(dir, ContextOptions{StatCache: sc})
		if err != nil {
			b.Fatal(err)
		}
		ab := &astBuilder{}
		p, diags := Compile(file(ab.copy(". /app/")), Options{Context: c, SkipPrePost: true})
		if diags.HasErrors() || p.TotalSteps() != 1 {
			b.Fatal(diags)
		}
	}
	key()
	b.ResetTimer()
	for b.Loop() {
		key()
	}
}
