package executor_test

import (
	"context"
	"fmt"
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
	"wrenn.dev/wrenn/lang"
)

// env is the shared real agent: a local backend on a temp root with the
// busybox base bootstrapped once per test binary, served over a private
// unix socket and reached through the real connect client.
var env struct {
	backend *local.Backend
	client  *agent.Client
}

func TestMain(m *testing.M) {
	if os.Getenv("WRENN_EXECUTOR_CHILD") != "" {
		os.Exit(child())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := os.MkdirTemp("", "wrenn-executor-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(root)
	b, err := local.New(local.Options{Root: filepath.Join(root, "agent")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "local backend:", err)
		return 1
	}
	defer b.Close(context.Background())
	if _, err := b.BootstrapBase(context.Background(), "minimal", local.FromBusybox, nil); err != nil {
		fmt.Fprintln(os.Stderr, "bootstrap busybox base:", err)
		return 1
	}
	url, stop, err := agent.ServeEmbedded(context.Background(), b)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	c, err := agent.Dial(url, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	env.backend, env.client = b, c
	return m.Run()
}

// project is a Wrennfile, its context directory and a cache store.
type project struct {
	t     *testing.T
	dir   string
	store *cache.BadgerStore
	name  string
	// hc is the build's Healthcheck parameter, nil for none.
	hc *lang.HealthcheckInstr
}

func newProject(t *testing.T, wrennfile string, files map[string]string) *project {
	t.Helper()
	dir := t.TempDir()
	p := &project{t: t, dir: dir, name: "t-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))}
	p.write("Wrennfile", wrennfile)
	for k, v := range files {
		p.write(k, v)
	}
	s, err := cache.Open(filepath.Join(t.TempDir(), "cache"), cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p.store = s
	return p
}

func (p *project) write(name, content string) {
	p.t.Helper()
	path := filepath.Join(p.dir, "ctx", name)
	if name == "Wrennfile" {
		path = filepath.Join(p.dir, name)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *project) build() *executor.Result {
	p.t.Helper()
	res, err := p.tryBuild()
	if err != nil {
		p.t.Fatalf("build: %v", err)
	}
	return res
}

func (p *project) tryBuild() (*executor.Result, error) {
	return p.tryBuildOn(env.client)
}

func (p *project) tryBuildOn(a executor.Agent) (*executor.Result, error) {
	p.t.Helper()
	src, err := os.ReadFile(filepath.Join(p.dir, "Wrennfile"))
	if err != nil {
		p.t.Fatal(err)
	}
	f, diags := lang.Parse("Wrennfile", src)
	if diags.HasErrors() {
		p.t.Fatalf("parse: %v", diags)
	}
	if err := os.MkdirAll(filepath.Join(p.dir, "ctx"), 0o755); err != nil {
		p.t.Fatal(err)
	}
	cx, err := compiler.OpenContext(filepath.Join(p.dir, "ctx"), compiler.ContextOptions{})
	if err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return executor.Build(ctx, executor.Request{
		Agent: a, Store: p.store, File: f, Name: p.name, Healthcheck: p.hc,
		Options: compiler.Options{Context: cx, SkipPrePost: true},
	})
}

// ran lists the step IDs a build ran (not taken from the cache).
func ran(res *executor.Result) []int {
	var out []int
	for _, l := range res.Logs {
		if !l.Cached {
			out = append(out, l.Step)
		}
	}
	return out
}

func (p *project) readFile(path string) string {
	p.t.Helper()
	ctx := context.Background()
	sb, err := env.backend.CreateSandbox(ctx, agent.SandboxSpec{Template: p.name})
	if err != nil {
		p.t.Fatalf("sandbox on the built template: %v", err)
	}
	defer env.backend.DestroySandbox(ctx, sb.ID)
	data, err := env.backend.ReadFile(ctx, sb.ID, path)
	if err != nil {
		p.t.Fatalf("read %s: %v", path, err)
	}
	return string(data)
}

const incremental = `FROM minimal
RUN echo one > /one
COPY app/ /app/
RUN cat /app/main.txt > /copied
RUN echo last-v1 > /last
`

func TestIncremental(t *testing.T) {
	p := newProject(t, incremental, map[string]string{"app/main.txt": "hello v1\n", "unused.txt": "x"})

	first := p.build()
	if got := ran(first); fmt.Sprint(got) != "[1 2 3 4]" {
		t.Fatalf("first build ran %v, want every step", got)
	}
	if got := p.readFile("/copied"); got != "hello v1\n" {
		t.Fatalf("/copied = %q", got)
	}

	second := p.build()
	if got := ran(second); len(got) != 0 || !second.NoSandbox {
		t.Fatalf("second build ran %v (no sandbox %v), want nothing", got, second.NoSandbox)
	}

	// Touching mtimes and changing an unreferenced file change nothing.
	future := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(p.dir, "ctx/app/main.txt"), future, future)
	p.write("unused.txt", "changed")
	if got := ran(p.build()); len(got) != 0 {
		t.Fatalf("after touch and unreferenced change ran %v, want nothing", got)
	}

	// Changing the last RUN runs exactly that step.
	p.write("Wrennfile", strings.Replace(incremental, "last-v1", "last-v2", 1))
	if got := ran(p.build()); fmt.Sprint(got) != "[4]" {
		t.Fatalf("after changing the last RUN ran %v, want [4]", got)
	}
	if got := p.readFile("/last"); got != "last-v2\n" {
		t.Fatalf("/last = %q", got)
	}

	// Changing a file the middle COPY selects runs the COPY and after.
	p.write("app/main.txt", "hello v2\n")
	if got := ran(p.build()); fmt.Sprint(got) != "[2 3 4]" {
		t.Fatalf("after changing a copied file ran %v, want [2 3 4]", got)
	}
	if got := p.readFile("/copied"); got != "hello v2\n" {
		t.Fatalf("/copied = %q", got)
	}
	// Staging files do not end up in the template.
	ctx := context.Background()
	sb, err := env.backend.CreateSandbox(ctx, agent.SandboxSpec{Template: p.name})
	if err != nil {
		t.Fatal(err)
	}
	defer env.backend.DestroySandbox(ctx, sb.ID)
	for _, f := range []string{"/tmp/build-files.tar", "/tmp/build-files/app/main.txt"} {
		if _, err := env.backend.ReadFile(ctx, sb.ID, f); err == nil {
			t.Errorf("%s is in the template", f)
		}
	}
}

func TestDeletedLayerIsRebuilt(t *testing.T) {
	p := newProject(t, "FROM minimal\nRUN echo a > /a\nRUN echo b > /b\n", nil)
	p.build()
	recs, err := p.store.Lookup(context.Background(), cache.LayerKeys(mustPlan(t, p)))
	if err != nil || len(recs) != 2 {
		t.Fatalf("records %v %v", recs, err)
	}
	// Delete the template and the second layer behind wrenn's back.
	ctx := context.Background()
	_ = env.backend.DeleteSnapshot(ctx, agent.TemplateRef{Name: p.name})
	var second string
	for _, r := range recs {
		if strings.Contains(r.Text, "/b") {
			second = r.Snapshot.ID
		}
	}
	if err := env.backend.DeleteLayer(ctx, second); err != nil {
		t.Fatalf("delete layer: %v", err)
	}
	res := p.build()
	if got := ran(res); fmt.Sprint(got) != "[2]" {
		t.Fatalf("ran %v, want [2]", got)
	}
	if got := p.readFile("/b"); got != "b\n" {
		t.Fatalf("/b = %q", got)
	}
}

func mustPlan(t *testing.T, p *project) *compiler.Plan {
	t.Helper()
	src, _ := os.ReadFile(filepath.Join(p.dir, "Wrennfile"))
	f, _ := lang.Parse("Wrennfile", src)
	plan, _, err := executor.Plan(context.Background(), executor.Request{Agent: env.client, Store: p.store, File: f,
		Options: compiler.Options{SkipPrePost: true}})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestFailureRecordsNothingAfter(t *testing.T) {
	p := newProject(t, "FROM minimal\nRUN echo ok > /ok\nRUN echo boom >&2; exit 3\nRUN echo never\n", nil)
	res, err := p.tryBuild()
	if err == nil || res.Status != executor.StatusFailed {
		t.Fatalf("want a failure, got %v %+v", err, res)
	}
	if want := "recipe step 2 failed: boom"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	// The first step is kept: fix the failing one and only it and after run.
	p.write("Wrennfile", "FROM minimal\nRUN echo ok > /ok\nRUN true\nRUN echo never\n")
	if got := ran(p.build()); fmt.Sprint(got) != "[2 3]" {
		t.Fatalf("ran %v, want [2 3]", got)
	}
	sbs, _ := env.backend.ListSandboxes(context.Background())
	if len(sbs) != 0 {
		t.Fatalf("sandboxes left behind: %v", sbs)
	}
}

// TestRecordsCarryTheLayerDigest: the executor asks for deferred digests
// (the next step runs while the agent hashes a layer), yet when Build
// returns every step's record is there with the layer's digest and size
// as the agent reports them.
func TestRecordsCarryTheLayerDigest(t *testing.T) {
	p := newProject(t, "FROM minimal\nRUN head -c 8000000 /dev/urandom > /big\nRUN echo b > /b\nRUN rm /big\n", nil)
	p.build()
	keys := cache.LayerKeys(mustPlan(t, p))
	recs, err := p.store.Lookup(context.Background(), keys)
	if err != nil || len(recs) != 3 {
		t.Fatalf("records for %d keys: %d, %v", len(keys), len(recs), err)
	}
	for _, r := range recs {
		l, err := env.backend.Layer(context.Background(), r.Snapshot.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Digest == "" || r.Digest != l.Digest || r.SizeBytes != l.SizeBytes {
			t.Errorf("record of %q: digest %q size %d; the agent has %q %d", r.Text, r.Digest, r.SizeBytes, l.Digest, l.SizeBytes)
		}
	}
}
