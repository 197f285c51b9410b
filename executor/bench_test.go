package executor_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/agent/local"
	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/executor"
	"wrenn.dev/wrenn/internal/benchfs"
	"wrenn.dev/wrenn/lang"
)

// The build benchmarks use the shape of bench/build/run.sh: a 20-step
// Wrennfile (8 RUN, COPY of a 2,000-file 50 MB directory, RUN, COPY of a
// small directory, 8 RUN, a last RUN) on a busybox base, with a real local
// agent on a fresh ext4 (benchfs) served over a private socket, a real Badger cache
// and the context hashed through the cache's stat cache. Each iteration is
// what one `wrenn build` does after its process and agent have started:
// open the cache, open the context, build, close the cache.

type buildBench struct {
	b        *testing.B
	client   *agent.Client
	ctxDir   string
	cacheDir string
}

func newBuildBench(b *testing.B) *buildBench {
	b.Helper()
	dir := benchfs.Dir(b)
	be, err := local.New(local.Options{Root: filepath.Join(dir, "agent")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close(context.Background()) })
	if _, err := be.BootstrapBase(context.Background(), "minimal", local.FromBusybox, nil); err != nil {
		b.Fatal(err)
	}
	url, stop, err := agent.ServeEmbedded(context.Background(), be)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stop)
	c, err := agent.Dial(url, "")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	bb := &buildBench{b: b, client: c, ctxDir: filepath.Join(dir, "ctx"), cacheDir: filepath.Join(dir, "cache")}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 25600)
	for i := range 2000 {
		d := filepath.Join(bb.ctxDir, "data", fmt.Sprintf("d%d", i%20))
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		name := filepath.Join(d, fmt.Sprintf("f%d.bin", i))
		if err := os.WriteFile(name, buf, 0o644); err != nil {
			b.Fatal(err)
		}
		// As a real context's files: not written in the last 2 s, which
		// the stat cache would not remember ("racily clean").
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(name, old, old); err != nil {
			b.Fatal(err)
		}
	}
	bb.writeApp("v1")
	return bb
}

func (bb *buildBench) writeApp(v string) {
	d := filepath.Join(bb.ctxDir, "src")
	if err := os.MkdirAll(d, 0o755); err != nil {
		bb.b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "app.txt"), []byte(v+"\n"), 0o644); err != nil {
		bb.b.Fatal(err)
	}
}

func benchWrennfile(last string) string {
	var s strings.Builder
	s.WriteString("FROM minimal\n")
	for n := 1; n <= 8; n++ {
		fmt.Fprintf(&s, "RUN echo step%d > /s%d\n", n, n)
	}
	s.WriteString("COPY data/ /data/\nRUN ls /data | wc -l > /count\nCOPY src/ /src/\n")
	for n := 11; n <= 18; n++ {
		fmt.Fprintf(&s, "RUN echo step%d > /s%d\n", n, n)
	}
	fmt.Fprintf(&s, "RUN echo last-%s > /last\n", last)
	return s.String()
}

// build is one `wrenn build` after start-up; it fails the benchmark
// unless exactly wantRan steps ran.
func (bb *buildBench) build(cacheDir, last string, wantRan int) {
	b := bb.b
	ctx := context.Background()
	store, err := cache.Open(cacheDir, cache.Options{LockWait: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	f, diags := lang.Parse("Wrennfile", []byte(benchWrennfile(last)))
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	sc := cache.NewStatCache(ctx, store).Under(bb.ctxDir) // as wrenn build does
	defer func() { _ = sc.Flush() }()
	cx, err := compiler.OpenContext(bb.ctxDir, compiler.ContextOptions{StatCache: sc})
	if err != nil {
		b.Fatal(err)
	}
	res, err := executor.Build(ctx, executor.Request{Agent: bb.client, Store: store, File: f, Name: "bench",
		Options: compiler.Options{Context: cx, SkipPrePost: true}})
	if err != nil {
		b.Fatal(err)
	}
	if res.Ran != wantRan || res.Steps != 20 {
		b.Fatalf("build ran %d of %d steps, want %d of 20", res.Ran, res.Steps, wantRan)
	}
}

// BenchmarkBuildCold: an empty cache each time (the context is hashed
// from disk, the base env is read by an exec), every step runs.
func BenchmarkBuildCold(b *testing.B) {
	bb := newBuildBench(b)
	for i := 0; b.Loop(); i++ {
		bb.build(filepath.Join(b.TempDir(), "cache"), "v1", 20)
	}
}

// BenchmarkBuildCached: the same build again; nothing runs.
func BenchmarkBuildCached(b *testing.B) {
	bb := newBuildBench(b)
	bb.build(bb.cacheDir, "v1", 20)
	for b.Loop() {
		bb.build(bb.cacheDir, "v1", 0)
	}
}

// BenchmarkBuildLastStep: the last RUN changes each time; it alone runs.
func BenchmarkBuildLastStep(b *testing.B) {
	bb := newBuildBench(b)
	bb.build(bb.cacheDir, "v0", 20)
	for i := 0; b.Loop(); i++ {
		bb.build(bb.cacheDir, fmt.Sprintf("v%d", i+1), 1)
	}
}

// BenchmarkBuildMidCopy: the file the middle `COPY src/` selects changes
// each time; that COPY and the 9 steps after it run.
func BenchmarkBuildMidCopy(b *testing.B) {
	bb := newBuildBench(b)
	bb.build(bb.cacheDir, "v1", 20)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		bb.writeApp(fmt.Sprintf("app-%d", i))
		b.StartTimer()
		bb.build(bb.cacheDir, "v1", 10)
	}
}
