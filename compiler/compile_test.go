package compiler

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/lang"
)

func mustCompile(t *testing.T, f *lang.File, opts Options) *Plan {
	t.Helper()
	p, diags := Compile(f, opts)
	if diags.HasErrors() {
		t.Fatalf("unexpected errors: %v", diags)
	}
	return p
}

func TestSeedPhases(t *testing.T) {
	b := &astBuilder{}
	f := file(b.run("echo one"), b.run("sleep 1", flag("timeout", "5m")))
	p := mustCompile(t, f, Options{})
	if got, want := p.TotalSteps(), 2+7; got != want {
		t.Fatalf("TotalSteps = %d, want %d", got, want)
	}
	type row struct {
		phase   Phase
		text    string
		user    string
		workdir string
		timeout time.Duration
	}
	want := []row{
		{PhasePreBuild, "RUN apt update", "root", "", 10 * time.Minute},
		{PhasePreBuild, "USER wrenn-user", "root", "", 10 * time.Minute},
		{PhasePreBuild, "WORKDIR /home/wrenn-user", "wrenn-user", "", 10 * time.Minute},
		{PhaseRecipe, "RUN echo one", "wrenn-user", "/home/wrenn-user", 30 * time.Second},
		{PhaseRecipe, "RUN --timeout=5m sleep 1", "wrenn-user", "/home/wrenn-user", 5 * time.Minute},
		{PhasePostBuild, "RUN apt clean", "root", "/home/wrenn-user", 10 * time.Minute},
		{PhasePostBuild, "RUN apt autoremove -y", "root", "/home/wrenn-user", 10 * time.Minute},
		{PhasePostBuild, "RUN rm -rf /var/lib/apt/lists/*", "root", "/home/wrenn-user", 10 * time.Minute},
		{PhasePostBuild, "RUN rm -rf /tmp/build-files /tmp/build-files.*", "root", "/home/wrenn-user", 10 * time.Minute},
	}
	for i, w := range want {
		s := p.Steps[i]
		got := row{s.Phase, s.Text, s.User, s.Workdir, s.Timeout}
		if got != w {
			t.Errorf("step %d = %+v, want %+v", i+1, got, w)
		}
		if s.ID != i+1 {
			t.Errorf("step %d has ID %d", i+1, s.ID)
		}
		if i > 0 && !slices.Equal(s.Parents, []int{i}) {
			t.Errorf("step %d parents = %v, want [%d]", i+1, s.Parents, i)
		}
	}
	if len(p.Steps[0].Parents) != 0 {
		t.Errorf("first step parents = %v", p.Steps[0].Parents)
	}
	rec := p.Steps[3]
	if rec.Env()["HOME"] != "/home/wrenn-user" {
		t.Errorf("recipe HOME = %q", rec.Env()["HOME"])
	}
	wantScript := `su 'wrenn-user' -s /bin/sh -c 'cd '\''/home/wrenn-user'\'' && HOME='\''/home/wrenn-user'\'' PATH='\''/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'\'' /bin/sh -c '\''echo one'\'''`
	if rec.Script() != wantScript {
		t.Errorf("recipe script\n got %s\nwant %s", rec.Script(), wantScript)
	}
	if got := p.Steps[0].Script(); got != `HOME='/root' PATH='/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' /bin/sh -c 'apt update'` {
		t.Errorf("apt update script = %s", got)
	}
	post := p.Steps[5]
	if strings.HasPrefix(post.Script(), "su ") || !strings.HasPrefix(post.Script(), "cd '/home/wrenn-user' && ") {
		t.Errorf("post-build script should run as root in the workdir: %s", post.Script())
	}
	if p.Result.DefaultUser != "wrenn-user" || p.Result.Final != FinalFlatten {
		t.Errorf("result = %+v", p.Result)
	}
	if _, ok := p.Result.DefaultEnv["HOME"]; ok || p.Result.DefaultEnv["PATH"] == "" {
		t.Errorf("default env = %v, want PATH without HOME", p.Result.DefaultEnv)
	}
}

func TestSkipPrePost(t *testing.T) {
	b := &astBuilder{}
	f := file(b.run("echo one"), b.env("A", "1"))
	p := mustCompile(t, f, Options{SkipPrePost: true})
	if p.TotalSteps() != 2 {
		t.Fatalf("TotalSteps = %d, want 2", p.TotalSteps())
	}
	if s := p.Steps[0]; s.User != "root" || s.Workdir != "" || s.Phase != PhaseRecipe {
		t.Errorf("first step runs as %q in %q (%s)", s.User, s.Workdir, s.Phase)
	}
	if p.Result.DefaultUser != "root" {
		t.Errorf("default user = %q", p.Result.DefaultUser)
	}
	// The directive does the same.
	f.Directives = []*lang.Directive{{Key: "skip-pre-post", Value: "true"}}
	p2 := mustCompile(t, f, Options{})
	if !slices.Equal(keysOf(p), keysOf(p2)) {
		t.Errorf("directive and option give different plans")
	}
}

func TestEnvExpansionFlows(t *testing.T) {
	b := &astBuilder{}
	f := file(
		b.env("A", "1 B=2"),
		b.env("P", "/opt/bin:$PATH"),
		b.env("Q", "${A}-$$-$NOPE"),
		b.run("echo"),
	)
	p := mustCompile(t, f, Options{SkipPrePost: true})
	env := p.Steps[3].Env()
	if env["A"] != "1 B=2" || env["P"] != "/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" || env["Q"] != "1 B=2-$-" {
		t.Errorf("env = %v", env)
	}
	for _, s := range p.Steps[:3] {
		if s.MakesLayer {
			t.Errorf("%s makes a layer", s.Text)
		}
	}
	if !p.Steps[3].MakesLayer {
		t.Errorf("RUN makes no layer")
	}
	if p.Result.DefaultEnv["Q"] != "1 B=2-$-" {
		t.Errorf("default env = %v", p.Result.DefaultEnv)
	}
}

func TestUserAndRunUserOverride(t *testing.T) {
	b := &astBuilder{}
	f := file(b.user("app"), b.run("id"), b.run("id", flag("user", "root")), b.user("root"), b.run("id"))
	p := mustCompile(t, f, Options{SkipPrePost: true})
	if !p.Steps[0].RunAsRoot || p.Steps[0].Script() != UserScript("app") {
		t.Errorf("USER step = %+v", p.Steps[0])
	}
	if !strings.HasPrefix(p.Steps[1].Script(), "su 'app' ") || p.Steps[1].Env()["HOME"] != "/home/app" {
		t.Errorf("RUN after USER app: %s (HOME %s)", p.Steps[1].Script(), p.Steps[1].Env()["HOME"])
	}
	if strings.HasPrefix(p.Steps[2].Script(), "su ") {
		t.Errorf("RUN --user=root is wrapped: %s", p.Steps[2].Script())
	}
	if p.Steps[4].Env()["HOME"] != "/root" || strings.HasPrefix(p.Steps[4].Script(), "su ") {
		t.Errorf("after USER root: %s", p.Steps[4].Script())
	}
}

func TestWorkdirResolution(t *testing.T) {
	b := &astBuilder{}
	f := file(b.workdir("app"), b.workdir("sub/../src"), b.workdir("/abs//x/"), b.run("pwd"))
	p := mustCompile(t, f, Options{SkipPrePost: true})
	got := []string{p.Steps[0].SetsWorkdir, p.Steps[1].SetsWorkdir, p.Steps[2].SetsWorkdir, p.Steps[3].Workdir}
	want := []string{"/app", "/app/src", "/abs/x", "/abs/x"}
	if !slices.Equal(got, want) {
		t.Errorf("workdirs = %v, want %v", got, want)
	}
	if p.Steps[0].Script() != "mkdir -p '/app'" {
		t.Errorf("WORKDIR script = %s", p.Steps[0].Script())
	}
}

func TestArgScopeAndBuildArgs(t *testing.T) {
	b := &astBuilder{}
	f := file(b.run("before"), b.arg("V", "1.0"), b.arg("NODEF"), b.run("echo $V"), b.env("X", "v$V"))
	p := mustCompile(t, f, Options{SkipPrePost: true})
	if len(p.Steps[0].Args()) != 0 {
		t.Errorf("args before ARG: %v", p.Steps[0].Args())
	}
	if a := p.Steps[3].Args(); !maps.Equal(a, map[string]string{"V": "1.0"}) {
		t.Errorf("args in scope = %v", a)
	}
	if !strings.Contains(p.Steps[3].Script(), "V='1.0' ") {
		t.Errorf("ARG not in the script env: %s", p.Steps[3].Script())
	}
	p2 := mustCompile(t, f, Options{SkipPrePost: true, BuildArgs: map[string]string{"V": "2.0"}})
	if p2.Result.DefaultEnv["X"] != "v2.0" {
		t.Errorf("X = %q", p2.Result.DefaultEnv["X"])
	}
	_, diags := Compile(f, Options{SkipPrePost: true, BuildArgs: map[string]string{"OTHER": "x"}})
	if len(diags) != 1 || diags[0].Code != CodeBuildArgUnused || diags[0].Severity != lang.SeverityWarning ||
		diags[0].Message != `build arg "OTHER" is not declared by an ARG in the stages built` {
		t.Errorf("diags = %v", diags)
	}
}

func TestResultHealthcheckAndStart(t *testing.T) {
	b := &astBuilder{}
	f := file(b.env("PORT", "8080"), b.start("serve"), b.healthcheck("curl -f localhost:8080"))
	p := mustCompile(t, f, Options{})
	r := p.Result
	if r.Final != FinalSnapshot || r.Healthcheck == nil || r.Healthcheck.Interval != 3*time.Second {
		t.Fatalf("result = %+v", r)
	}
	if len(r.Start) != 1 || p.Step(r.Start[0]).Kind != lang.KindStart || r.StartScript != p.Step(r.Start[0]).Script() {
		t.Errorf("start = %v %q", r.Start, r.StartScript)
	}
	if p.Step(r.Start[0]).Timeout != 10*time.Second || p.Step(r.Start[0]).MakesLayer {
		t.Errorf("START step = %+v", p.Step(r.Start[0]))
	}
	if !strings.HasPrefix(r.Healthcheck.Script, "su 'wrenn-user' ") || !strings.Contains(r.Healthcheck.Script, "curl -f localhost:8080") {
		t.Errorf("healthcheck script = %s", r.Healthcheck.Script)
	}
	// HEALTHCHECK is not a step: the seed rule still holds.
	if p.TotalSteps() != 2+7 {
		t.Errorf("TotalSteps = %d", p.TotalSteps())
	}
	noHC := mustCompile(t, file(b.env("PORT", "8080"), b.start("serve")), Options{})
	if noHC.Result.Key == r.Key {
		t.Errorf("healthcheck does not change the final key")
	}
}

func TestBaseIdentity(t *testing.T) {
	b := &astBuilder{}
	f := file(b.run("x"))
	off := mustCompile(t, f, Options{})
	if !slices.Equal(off.Unresolved, []string{"minimal"}) {
		t.Errorf("unresolved = %v", off.Unresolved)
	}
	pre, err := DecodePreimage(off.Stages[0].BasePreimage)
	if err != nil || pre.Base == nil || !pre.Base.Unresolved || pre.Base.Template != "minimal" {
		t.Fatalf("base preimage = %+v %v", pre, err)
	}
	res := func(string) (digest.Digest, error) { return digest.Digest("sha256:" + strings.Repeat("ab", 32)), nil }
	on := mustCompile(t, f, Options{ResolveBase: res})
	if len(on.Unresolved) != 0 || on.Steps[0].Key == off.Steps[0].Key {
		t.Errorf("resolving the base must change keys: %v", on.Unresolved)
	}
	env := mustCompile(t, f, Options{ResolveBase: res, BaseEnv: map[string]string{"PATH": "/bin"}})
	if env.Stages[0].BaseKey == on.Stages[0].BaseKey {
		t.Errorf("base env is not part of the base key")
	}
}
