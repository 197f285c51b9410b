package executor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/executor"
	"wrenn.dev/wrenn/lang"
)

// TestSeedSemanticsBusybox covers USER (the busybox adduser stand-in takes
// Debian's flags, so the seed's script runs unchanged), WORKDIR, ENV
// expansion, COPY ownership, START launched after the last commit and a
// healthcheck that needs it, ending in a snapshot.
func TestSeedSemanticsBusybox(t *testing.T) {
	port := freePort(t)
	p := newProject(t, strings.ReplaceAll(`FROM minimal
ENV GREETING=hello
ENV MSG=${GREETING}-world
USER app
WORKDIR /srv/app
COPY site/ ./
RUN echo "$MSG" > out.txt && id -un > whoami
START httpd -f -p 127.0.0.1:PORT -h /srv/app
HEALTHCHECK --interval=200ms --retries=20 wget -q -O /dev/null http://127.0.0.1:PORT/index.html
`, "PORT", port), map[string]string{"site/index.html": "<h1>hi</h1>\n"})
	res := p.build()
	if res.Type != "snapshot" {
		t.Fatalf("type %q, want snapshot", res.Type)
	}
	if res.DefaultUser != "app" || res.DefaultEnv["MSG"] != "hello-world" {
		t.Fatalf("default user %q env %v", res.DefaultUser, res.DefaultEnv)
	}
	if _, ok := res.DefaultEnv["HOME"]; ok {
		t.Fatalf("runtime variable HOME kept in the default env: %v", res.DefaultEnv)
	}
	if got := p.readFile("/srv/app/out.txt"); got != "hello-world\n" {
		t.Fatalf("out.txt = %q", got)
	}
	if got := p.readFile("/srv/app/whoami"); got != "app\n" {
		t.Fatalf("whoami = %q", got)
	}
	ctx := context.Background()
	sb, err := env.backend.CreateSandbox(ctx, agent.SandboxSpec{Template: p.name})
	if err != nil {
		t.Fatal(err)
	}
	defer env.backend.DestroySandbox(ctx, sb.ID)
	var out strings.Builder
	code, err := env.backend.Exec(ctx, sb.ID, agent.ExecSpec{Cmd: "/bin/sh", Args: []string{"-c", "stat -c %U /srv/app/index.html; grep -c NOPASSWD /etc/sudoers.d/app"}}, &out, &out, nil)
	if err != nil || code != 0 || out.String() != "app\n1\n" {
		t.Fatalf("ownership/sudoers: %q exit %d %v", out.String(), code, err)
	}
	if got := ran(p.build()); len(got) != 0 {
		t.Fatalf("rebuild ran %v", got)
	}
}

func TestHealthcheckFailureFails(t *testing.T) {
	p := newProject(t, "FROM minimal\nRUN true\nHEALTHCHECK --interval=100ms --retries=2 false\n", nil)
	res, err := p.tryBuild()
	if err == nil || res.Status != "failed" || !strings.Contains(err.Error(), "healthcheck failed after 2 retries") {
		t.Fatalf("got %v %v", err, res)
	}
}

// TestWithoutLayerService builds against a real agent that serves only
// hostagent.v1: per-step layers become snapshots, and the build is still
// incremental.
func TestWithoutLayerService(t *testing.T) {
	url, stop, err := agent.ServeEmbedded(context.Background(), env.backend, agent.WithoutLayerService())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	c, err := agent.Dial(url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// COPY goes through WriteFile and a tar extraction folded into the
	// step's exec (ExtractTar is LayerService's).
	src := "FROM minimal\nRUN echo a > /a\nCOPY app/ /app/\nRUN echo b > /b\n"
	p := newProject(t, src, map[string]string{"app/x/y.txt": "why\n"})
	build := func() []int {
		res, err := p.tryBuildOn(c)
		if err != nil {
			t.Fatal(err)
		}
		return ran(res)
	}
	if got := build(); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("first build ran %v", got)
	}
	if got := p.readFile("/app/x/y.txt"); got != "why\n" {
		t.Fatalf("/app/x/y.txt = %q", got)
	}
	p.write("Wrennfile", strings.Replace(src, "echo b", "echo bb", 1))
	if got := build(); fmt.Sprint(got) != "[3]" {
		t.Fatalf("second build ran %v, want [3]", got)
	}
	if got := p.readFile("/b"); got != "bb\n" {
		t.Fatalf("/b = %q", got)
	}
}

// TestCancelIsCancelled cancels a build during a step: the status is
// cancelled (not failed), the sandbox is gone, the running step is not
// recorded, and the next build resumes after the last finished step.
func TestCancelIsCancelled(t *testing.T) {
	src := "FROM minimal\nRUN echo a > /a\nRUN sleep 30\n"
	p := newProject(t, src, nil)
	f, _ := lang.Parse("Wrennfile", []byte(src))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := executor.Build(ctx, executor.Request{Agent: env.client, Store: p.store, File: f, Name: p.name,
		Options: compiler.Options{SkipPrePost: true},
		Events: func(e executor.Event) {
			if e.Type == "step-start" && e.Step == 2 {
				go func() { time.Sleep(300 * time.Millisecond); cancel() }()
			}
		}})
	if err == nil || res == nil || res.Status != executor.StatusCancelled || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v %+v, want cancelled", err, res)
	}
	sbs, _ := env.backend.ListSandboxes(context.Background())
	if len(sbs) != 0 {
		t.Fatalf("sandboxes left behind: %v", sbs)
	}
	p.write("Wrennfile", strings.Replace(src, "sleep 30", "true", 1))
	if got := ran(p.build()); fmt.Sprint(got) != "[2]" {
		t.Fatalf("after cancel ran %v, want [2]", got)
	}
}

// TestMultiStage builds two independent stages (in parallel) and a final
// stage that copies from both; changing one source stage re-runs that stage
// and the final stage from its COPY --from on, never the other stage.
func TestMultiStage(t *testing.T) {
	src := `FROM minimal AS a
RUN mkdir -p /out && echo from-a-v1 > /out/a.txt
FROM minimal AS b
RUN mkdir -p /out && echo from-b > /out/b.txt
FROM minimal
RUN echo base > /base
COPY --from=b /out/b.txt /final/b.txt
COPY --from=a /out/a.txt /final/a.txt
RUN cat /final/a.txt /final/b.txt > /final/both
`
	p := newProject(t, src, nil)
	if got := ran(p.build()); len(got) != 6 {
		t.Fatalf("first build ran %v, want all 6", got)
	}
	if got := p.readFile("/final/both"); got != "from-a-v1\nfrom-b\n" {
		t.Fatalf("/final/both = %q", got)
	}
	p.write("Wrennfile", strings.Replace(src, "from-a-v1", "from-a-v2", 1))
	res := p.build()
	var names []string
	for _, l := range res.Logs {
		if !l.Cached {
			names = append(names, l.Cmd)
		}
	}
	if got := ran(res); fmt.Sprint(got) != "[1 5 6]" {
		t.Fatalf("after changing stage a ran %v %q, want [1 5 6]", got, names)
	}
	if got := p.readFile("/final/both"); got != "from-a-v2\nfrom-b\n" {
		t.Fatalf("/final/both = %q", got)
	}
}

// TestConcurrentBuildsRunSharedStepOnce runs two builds of the same steps
// (different template names) at once in one process with one store: each
// step runs in exactly one of them.
func TestConcurrentBuildsRunSharedStepOnce(t *testing.T) {
	src := "FROM minimal\nRUN sleep 0.5 && echo a > /a\nRUN echo b > /b\n"
	p := newProject(t, src, nil)
	f, _ := lang.Parse("Wrennfile", []byte(src))
	results := make(chan *executor.Result, 2)
	errs := make(chan error, 2)
	for _, name := range []string{p.name + "-x", p.name + "-y"} {
		go func() {
			res, err := executor.Build(context.Background(), executor.Request{Agent: env.client, Store: p.store, File: f, Name: name,
				Options: compiler.Options{SkipPrePost: true}})
			results <- res
			errs <- err
		}()
	}
	runs := map[int]int{}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		for _, id := range ran(<-results) {
			runs[id]++
		}
	}
	if runs[1] != 1 || runs[2] != 1 {
		t.Fatalf("step runs across both builds: %v, want each once", runs)
	}
}
