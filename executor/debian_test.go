package executor_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/agent/local"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/executor"
	"wrenn.dev/wrenn/lang"
)

// TestDebianSeedSemantics is the one slow test (debootstrap minbase, about
// a minute, needs the Debian mirror): the seed's behaviour on a real
// Debian base — pre- and post-build phases, USER creating a user with a
// sudoers entry, ENV expansion, WORKDIR, COPY ownership, START and a
// healthcheck, the default user and env recorded — and a rebuild that does
// no sandbox work.
func TestDebianSeedSemantics(t *testing.T) {
	root := t.TempDir()
	b, err := local.New(local.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if _, err := b.BootstrapBase(ctx, "minimal", local.FromDebian, nil); err != nil {
		t.Fatalf("debootstrap: %v", err)
	}
	url, stop, err := agent.ServeEmbedded(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	c, err := agent.Dial(url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	src := `ENV APP_HOME=/opt/app
ENV GREETING=hello-${APP_HOME}
USER appuser
WORKDIR /opt/app
COPY app/ ./
RUN sudo -n true && whoami > who.txt && echo "$GREETING" > greet.txt
START while true; do date > /tmp/alive; sleep 1; done
HEALTHCHECK --interval=500ms --retries=20 test -f /tmp/alive
`
	p := newProject(t, src, map[string]string{"app/config.txt": "x=1\n"})
	f, diags := lang.Parse("Wrennfile", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	cx, err := compiler.OpenContext(filepath.Join(p.dir, "ctx"), compiler.ContextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	build := func() *executor.Result {
		res, err := executor.Build(ctx, executor.Request{Agent: c, Store: p.store, File: f, Name: "debian-seed",
			Options: compiler.Options{Context: cx}})
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		return res
	}
	res := build()
	if res.Type != "snapshot" || res.DefaultUser != "appuser" || res.DefaultEnv["GREETING"] != "hello-/opt/app" {
		t.Fatalf("type %q user %q env %v", res.Type, res.DefaultUser, res.DefaultEnv)
	}
	if _, ok := res.DefaultEnv["HOME"]; ok {
		t.Errorf("HOME kept in the default env")
	}
	phases := map[string]bool{}
	for _, l := range res.Logs {
		phases[l.Phase] = true
	}
	if !phases["pre-build"] || !phases["post-build"] || !phases["recipe"] {
		t.Errorf("phases run: %v", phases)
	}
	sb, err := b.CreateSandbox(ctx, agent.SandboxSpec{Template: "debian-seed"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.DestroySandbox(context.Background(), sb.ID)
	var out strings.Builder
	code, err := b.Exec(ctx, sb.ID, agent.ExecSpec{Cmd: "/bin/sh", Args: []string{"-c",
		"cat /opt/app/who.txt /opt/app/greet.txt; stat -c %U /opt/app/config.txt; cat /etc/sudoers.d/appuser"}}, &out, &out, nil)
	want := "appuser\nhello-/opt/app\nappuser\nappuser ALL=(ALL) NOPASSWD:ALL\n"
	if err != nil || code != 0 || out.String() != want {
		t.Fatalf("in the template: %q (exit %d, %v), want %q", out.String(), code, err, want)
	}
	if again := build(); !again.NoSandbox || again.Ran != 0 {
		t.Fatalf("rebuild ran %d steps (no sandbox %v)", again.Ran, again.NoSandbox)
	}
}
