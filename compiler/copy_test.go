package compiler

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"wrenn.dev/wrenn/internal/tartest"
	"wrenn.dev/wrenn/lang"
)

func testContext(t *testing.T, files map[string]string) *Context {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, files)
	c, err := OpenContext(dir, ContextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCopySpecAndScript(t *testing.T) {
	ctx := testContext(t, map[string]string{"app/main.py": "x", "app/lib/l.py": "y", "req.txt": "r", "a.sh": "a", "b.sh": "b"})
	b := &astBuilder{}
	f := file(
		b.copy("app ."),
		b.copy("req.txt /etc/req.txt", flag("chown", "svc"), flag("chmod", "0640")),
		b.copy("*.sh bin/"),
	)
	p := mustCompile(t, f, Options{Context: ctx})
	c1 := p.Steps[3]
	if c1.Copy.Dest != "/home/wrenn-user" || c1.Copy.Chown != "wrenn-user:wrenn-user" || !c1.RunAsRoot || !c1.MakesLayer {
		t.Errorf("COPY app . = %+v", c1.Copy)
	}
	if want := "mkdir -p '/home/wrenn-user' && cp -r '/tmp/build-files/app/.' '/home/wrenn-user' && chown -R 'wrenn-user:wrenn-user' '/home/wrenn-user'"; c1.Script() != want {
		t.Errorf("script\n got %s\nwant %s", c1.Script(), want)
	}
	c2 := p.Steps[4]
	if want := "mkdir -p '/etc' && cp -r '/tmp/build-files/req.txt' '/etc/req.txt' && chown -R 'svc:svc' '/etc/req.txt' && chmod -R 0640 '/etc/req.txt'"; c2.Script() != want {
		t.Errorf("script\n got %s\nwant %s", c2.Script(), want)
	}
	c3 := p.Steps[5]
	if c3.Copy.Dest != "/home/wrenn-user/bin/" {
		t.Errorf("dest = %s", c3.Copy.Dest)
	}
	if want := "mkdir -p '/home/wrenn-user/bin' && cp -r '/tmp/build-files/a.sh' '/home/wrenn-user/bin/' && cp -r '/tmp/build-files/b.sh' '/home/wrenn-user/bin/' && chown -R 'wrenn-user:wrenn-user' '/home/wrenn-user/bin/a.sh' && chown -R 'wrenn-user:wrenn-user' '/home/wrenn-user/bin/b.sh'"; c3.Script() != want {
		t.Errorf("script\n got %s\nwant %s", c3.Script(), want)
	}
	pre, _ := DecodePreimage(c3.Preimage())
	var paths []string
	for _, in := range pre.Inputs {
		paths = append(paths, in.Path)
	}
	if !slices.Equal(paths, []string{"a.sh", "b.sh"}) || !slices.Equal(pre.Sources, []string{"*.sh"}) {
		t.Errorf("inputs %v sources %v", paths, pre.Sources)
	}
}

func TestCopyOnlySelectedFilesInKey(t *testing.T) {
	files := map[string]string{"app/main.py": "x", "other.txt": "1"}
	b := &astBuilder{}
	f := file(b.copy("app /app"), b.run("true"))
	a := mustCompile(t, f, Options{Context: testContext(t, files)})
	files["other.txt"] = "2"
	same := mustCompile(t, f, Options{Context: testContext(t, files)})
	if !slices.Equal(keysOf(a), keysOf(same)) {
		t.Errorf("an unreferenced file changed keys")
	}
	files["app/main.py"] = "y"
	changed := mustCompile(t, f, Options{Context: testContext(t, files)})
	if got := changedFrom(t, keysOf(a), keysOf(changed)); got != 3 {
		t.Errorf("first changed step %d, want the COPY (4)", got+1)
	}
}

func TestCopyDiagnostics(t *testing.T) {
	ctx := testContext(t, map[string]string{"here.txt": "x"})
	b := &astBuilder{}
	cp := b.copy("here.txt missing.txt ../up /dst/")
	f := file(cp)
	_, diags := Compile(f, Options{Context: ctx, SkipPrePost: true})
	want := []struct {
		code, msg string
		col       int
	}{
		{CodeCopySourceInvalid, `copy source "../up" leaves the build context`, 8},
		{CodeCopySourceMissing, `copy source "missing.txt" not found in the build context`, 7},
	}
	if len(diags) != len(want) {
		t.Fatalf("diags = %v", diags)
	}
	for i, w := range want {
		d := diags[i]
		if d.Code != w.code || d.Message != w.msg || d.Range != cp.Range || len(d.Related) != 1 || d.Related[0].Range.Start.Column != w.col || d.Severity != lang.SeverityError {
			t.Errorf("diag %d = %+v, want %+v", i, d, w)
		}
	}
	_, diags = Compile(f, Options{SkipPrePost: true})
	if len(diags) != 2 || diags[0].Code != CodeCopyNoContext || diags[0].Range != cp.Range {
		t.Errorf("no context: %v", diags)
	}
}

func TestMultiStage(t *testing.T) {
	b := &astBuilder{}
	builder := stage(0, b.from("debian", "build"), b.run("gcc -o /out/app app.c"))
	unused := stage(1, b.from("alpine", "docs"), b.run("make docs"))
	final := stage(2, b.from("minimal", "final"), b.run("true"), b.copy("/out/app /usr/local/bin/", flag("from", "build")), b.start("app"))
	f := &lang.File{Name: "Wrennfile", Stages: []*lang.Stage{builder, unused, final}}
	p := mustCompile(t, f, Options{})
	if len(p.Stages) != 2 || p.Stages[0].Name != "build" || p.Stages[1].Name != "final" {
		t.Fatalf("stages = %+v", p.Stages)
	}
	// build: 3 pre + 1; final: 3 pre + 3 + 4 post.
	if p.TotalSteps() != 4+10 {
		t.Fatalf("TotalSteps = %d", p.TotalSteps())
	}
	// Both stages start from a template: the first steps of each have no
	// parent, so they can run in parallel.
	if len(p.Steps[0].Parents) != 0 || len(p.Steps[4].Parents) != 0 {
		t.Errorf("stage roots have parents: %v %v", p.Steps[0].Parents, p.Steps[4].Parents)
	}
	cp := p.Steps[8]
	if cp.Kind != lang.KindCopy || !slices.Equal(cp.Parents, []int{8, 4}) {
		t.Fatalf("COPY --from step %d parents %v", cp.ID, cp.Parents)
	}
	if cp.Copy.FromStage != 0 || cp.Copy.Staging != "/tmp/build-files.stage-0" || !strings.Contains(cp.Script(), "if [ -d '/tmp/build-files.stage-0/out/app' ]") {
		t.Errorf("copy spec = %+v\n%s", cp.Copy, cp.Script())
	}
	pre, _ := DecodePreimage(cp.Preimage())
	if len(pre.Parents) != 2 || pre.Parents[1] != p.Stages[0].FinalKey {
		t.Errorf("COPY --from preimage parents = %v", pre.Parents)
	}
	// A change in the builder changes the COPY --from key and after, not
	// the final stage's own earlier steps.
	builder.Instructions[0].(*lang.RunInstr).Cmd.Text = "gcc -O2 -o /out/app app.c"
	p2 := mustCompile(t, f, Options{})
	for i := range p.Steps {
		same := p.Steps[i].Key == p2.Steps[i].Key
		wantSame := i < 3 || (i >= 4 && i < 8)
		if same != wantSame {
			t.Errorf("step %d (%s): key same %v, want %v", i+1, p.Steps[i].Text, same, wantSame)
		}
	}
	// --target picks a stage and only what it needs.
	pt := mustCompile(t, f, Options{Target: "docs"})
	if len(pt.Stages) != 1 || pt.Stages[0].Name != "docs" || pt.TotalSteps() != 3+1+4 {
		t.Errorf("target docs: %d stages, %d steps", len(pt.Stages), pt.TotalSteps())
	}
	_, diags := Compile(f, Options{Target: "nope"})
	if len(diags) != 1 || diags[0].Code != CodeTargetUnknown || diags[0].Message != `target stage "nope" not found` || diags[0].Detail != "stages: build, docs, final" {
		t.Errorf("diags = %v", diags)
	}
}

func TestStageFromStage(t *testing.T) {
	b := &astBuilder{}
	base := stage(0, b.from("minimal", "base"), b.env("A", "1"), b.arg("V", "x"), b.user("app"))
	next := stage(1, b.from("base", ""), b.run("echo $A"))
	f := &lang.File{Name: "Wrennfile", Stages: []*lang.Stage{base, next}}
	p := mustCompile(t, f, Options{})
	run := p.Steps[len(p.Steps)-5]
	if run.Text != "RUN echo $A" || run.User != "app" || run.Env()["A"] != "1" || len(run.Args()) != 0 {
		t.Errorf("inherited state: user %s env %v args %v", run.User, run.Env(), run.Args())
	}
	if p.Stages[1].BaseStage != 0 || p.Stages[1].BaseKey != p.Stages[0].FinalKey || !slices.Equal(run.Parents, []int{6}) {
		t.Errorf("stage base = %+v, parents %v", p.Stages[1], run.Parents)
	}
	// No second pre-build phase for a stage built on a stage.
	if p.TotalSteps() != 3+3+1+4 {
		t.Errorf("TotalSteps = %d", p.TotalSteps())
	}
}

// WriteCopyTar names entries where the Script's cp puts them, with its
// owners and modes: a directory's contents under the destination (the
// destination itself a 0755 directory), files into a directory
// destination by their base name, modes under umask 022 or --chmod.
func TestWriteCopyTar(t *testing.T) {
	ctx := testContext(t, map[string]string{"app/main.py": "x", "app/lib/l.py": "y", "req.txt": "r", "a.sh": "a", "b.sh": "b"})
	b := &astBuilder{}
	f := file(
		b.copy("app /srv/"),
		b.copy("req.txt /etc/req.txt", flag("chmod", "4750")),
		b.copy("*.sh bin/"),
		b.copy(". /all"),
	)
	p := mustCompile(t, f, Options{Context: ctx})
	list := func(s *Step, uid, gid int) string {
		t.Helper()
		var buf strings.Builder
		var tb bytes.Buffer
		if err := ctx.WriteCopyTar(&tb, s.Copy, uid, gid); err != nil {
			t.Fatal(err)
		}
		for _, h := range tartest.Read(t, &tb) {
			fmt.Fprintf(&buf, "%s %o %d:%d %d\n", h.Name, h.Mode, h.Uid, h.Gid, h.Size)
		}
		return buf.String()
	}
	for i, want := range []string{
		"srv/ 755 7:8 0\nsrv/lib/ 755 7:8 0\nsrv/lib/l.py 644 7:8 1\nsrv/main.py 644 7:8 1\n",
		"etc/req.txt 4750 7:8 1\n",
		"home/wrenn-user/bin/a.sh 644 7:8 1\nhome/wrenn-user/bin/b.sh 644 7:8 1\n",
		"all/ 755 7:8 0\nall/a.sh 644 7:8 1\nall/app/ 755 7:8 0\nall/app/lib/ 755 7:8 0\nall/app/lib/l.py 644 7:8 1\nall/app/main.py 644 7:8 1\nall/b.sh 644 7:8 1\nall/req.txt 644 7:8 1\n",
	} {
		if got := list(p.Steps[3+i], 7, 8); got != want {
			t.Errorf("COPY %d tar:\n%s\nwant:\n%s", i+1, got, want)
		}
	}
}
