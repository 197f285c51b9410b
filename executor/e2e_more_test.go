package executor_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"wrenn.dev/wrenn/agent"
)

// TestSeedSemanticsBusybox covers USER (the busybox adduser stand-in takes
// Debian's flags, so the seed's script runs unchanged), WORKDIR, ENV
// expansion, COPY ownership, START launched after the last commit and a
// healthcheck that needs it, ending in a snapshot.
func TestSeedSemanticsBusybox(t *testing.T) {
	p := newProject(t, `FROM minimal
ENV GREETING=hello
ENV MSG=${GREETING}-world
USER app
WORKDIR /srv/app
COPY site/ ./
RUN echo "$MSG" > out.txt && id -un > whoami
START httpd -f -p 127.0.0.1:18080 -h /srv/app
HEALTHCHECK --interval=200ms --retries=20 wget -q -O /dev/null http://127.0.0.1:18080/index.html
`, map[string]string{"site/index.html": "<h1>hi</h1>\n"})
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
	src := "FROM minimal\nRUN echo a > /a\nRUN echo b > /b\n"
	p := newProject(t, src, nil)
	build := func() []int {
		res, err := p.tryBuildOn(c)
		if err != nil {
			t.Fatal(err)
		}
		return ran(res)
	}
	if got := build(); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("first build ran %v", got)
	}
	p.write("Wrennfile", strings.Replace(src, "echo b", "echo bb", 1))
	if got := build(); fmt.Sprint(got) != "[2]" {
		t.Fatalf("second build ran %v, want [2]", got)
	}
	if got := p.readFile("/b"); got != "bb\n" {
		t.Fatalf("/b = %q", got)
	}
}
