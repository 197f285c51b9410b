package compiler

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/lang"
)

// lazyStateFile has what changes a step's env and ARG values: ENV (with
// expansion, replacing and adding), ARG with and without a value, set by
// a build arg, overridden by ENV, unset again, USER (HOME), and stages
// that start from another stage (env inherited, ARGs dropped) or from a
// template.
const lazyStateFile = `FROM minimal AS a
ARG V=a'rg
ARG U
ENV Z=z
RUN echo $V
ENV V="it's env"
USER app
WORKDIR bob's dir
RUN echo 'hi'
RUN --user=root id
ARG A
ENV A=
ARG V
START sleep 1
USER root
RUN true
FROM a AS b
RUN echo $Z
ARG B=2
ENV C=$B
RUN echo $C
COPY --from=a /x /y
FROM minimal
ENV M=1
ARG M=2
RUN a
COPY --from=b /y /z
HEALTHCHECK CMD curl x
`

// TestLazyStateMatchesEagerModel checks the env and ARG values each step
// materialises on demand against an eager replay of the plan (a map per
// step, changed by ENV, ARG and USER steps as the seed's state would be),
// and that Preimage, Key and Script agree with them.
func TestLazyStateMatchesEagerModel(t *testing.T) {
	f, diags := lang.Parse("Wrennfile", []byte(lazyStateFile))
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	for _, opts := range []Options{{}, {BuildArgs: map[string]string{"A": "x", "U": "set", "M": "3"}}, {SkipPrePost: true}} {
		p, cdiags := Compile(f, opts)
		if cdiags.HasErrors() {
			t.Fatal(cdiags.Errors())
		}
		checked := 0
		for si, stg := range p.Stages {
			var env, args map[string]string
			if stg.BaseStage >= 0 {
				last := p.Step(p.Stages[stg.BaseStage].Steps[len(p.Stages[stg.BaseStage].Steps)-1])
				env, args = maps.Clone(last.Env()), map[string]string{}
				applyStep(last, env, args)
			} else {
				env, args = maps.Clone(stg.BaseEnv), map[string]string{}
			}
			for _, id := range stg.Steps {
				s := p.Step(id)
				if !maps.Equal(s.Env(), env) || !maps.Equal(s.Args(), args) {
					t.Errorf("stage %d step %d %s:\n env  %v\n want %v\n args %v\n want %v", si, s.ID, s.Text, s.Env(), env, s.Args(), args)
				}
				pre := s.Preimage()
				if digest.FromBytes(pre) != s.Key {
					t.Errorf("step %d: key is not the digest of its preimage", s.ID)
				}
				d, err := DecodePreimage(pre)
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(d.Env, env) || !maps.Equal(d.BuildArgs, args) || !bytes.Equal(d.Encode(), pre) {
					t.Errorf("step %d: preimage state %v %v, want %v %v", s.ID, d.Env, d.BuildArgs, env, args)
				}
				if s.Kind == lang.KindRun && s.Stage == 0 && s.Phase == PhaseRecipe && !strings.Contains(s.Script(), "V='") {
					t.Errorf("step %d: script without V: %s", s.ID, s.Script())
				}
				vars := maps.Clone(args)
				maps.Copy(vars, env)
				want := ""
				switch s.Kind {
				case lang.KindRun:
					want = RunScript(cmp(s.runAs, s.User), s.Workdir, vars, s.Cmd)
				case lang.KindStart:
					want = StartScript(s.User, s.Workdir, vars, s.Cmd)
				}
				if want != "" && s.Script() != want {
					t.Errorf("step %d %s: script\n got %s\nwant %s", s.ID, s.Text, s.Script(), want)
				}
				applyStep(s, env, args)
				checked++
			}
		}
		if checked < 20 {
			t.Errorf("checked %d steps", checked)
		}
	}
}

// applyStep changes env and args as step s does for the steps after it.
func applyStep(s *Step, env, args map[string]string) {
	d, err := DecodePreimage(s.Preimage())
	if err != nil {
		panic(err)
	}
	switch s.Kind {
	case lang.KindEnv:
		env[d.Args["key"]] = d.Args["value"]
	case lang.KindUser:
		env["HOME"] = "/home/" + s.SetsUser
		if s.SetsUser == "root" {
			env["HOME"] = "/root"
		}
	case lang.KindArg:
		if d.Args["set"] == "true" {
			args[d.Args["name"]] = d.Args["value"]
		} else {
			delete(args, d.Args["name"])
		}
	}
}

// TestLazyStateConcurrent materialises every step's state from several
// goroutines at once (the executor runs stages in parallel); run with
// -race it checks the lock, and all must see the same maps.
func TestLazyStateConcurrent(t *testing.T) {
	f, _ := lang.Parse("Wrennfile", []byte(lazyStateFile))
	p, _ := Compile(f, Options{})
	want := make([]string, len(p.Steps))
	{
		q, _ := Compile(f, Options{})
		for i, s := range q.Steps {
			want[i] = kv(s.Env()) + "|" + kv(s.Args()) + "|" + s.Script() + "|" + string(s.Preimage())
		}
	}
	var wg sync.WaitGroup
	got := make([][]string, 4)
	for g := range got {
		got[g] = make([]string, len(p.Steps))
		wg.Go(func() {
			for k := range p.Steps {
				i := len(p.Steps) - 1 - k // from the end: the longest chains first
				if g%2 == 0 {
					i = k
				}
				s := p.Steps[i]
				got[g][i] = kv(s.Env()) + "|" + kv(s.Args()) + "|" + s.Script() + "|" + string(s.Preimage())
			}
		})
	}
	wg.Wait()
	for g := range got {
		for i := range want {
			if got[g][i] != want[i] {
				t.Errorf("goroutine %d step %d:\n got %s\nwant %s", g, i+1, got[g][i], want[i])
			}
		}
	}
}

// TestStepScriptsByKind pins Script for the kinds that are not RUN or
// START (TestChainScriptMatchesRunScript has those): root scripts for
// WORKDIR, USER and COPY, nothing for ENV and ARG.
func TestStepScriptsByKind(t *testing.T) {
	f, _ := lang.Parse("Wrennfile", []byte("# wrenn:skip-pre-post\nWORKDIR /a b\nUSER app\nENV A=1\nARG B\nCOPY --from=0 /x y\n"))
	p, _ := Compile(f, Options{})
	want := []string{"mkdir -p '/a b'", UserScript("app"), "", "", p.Steps[4].Copy.Script()}
	if len(p.Steps) != len(want) {
		t.Fatalf("%d steps", len(p.Steps))
	}
	for i, s := range p.Steps {
		if got := s.Script(); got != want[i] {
			t.Errorf("step %d %s: script %q, want %q", s.ID, s.Text, got, want[i])
		}
	}
	if !strings.Contains(want[4], "cp -r") {
		t.Errorf("copy script %q", want[4])
	}
}

// canonicalTextJoin is CanonicalText as it was first written (parts
// joined with spaces, flags as strings sorted), the reference for the
// one-allocation version.
func canonicalTextJoin(in lang.Instruction) string {
	n := in.Node()
	parts := []string{string(n.Kind)}
	var flags []string
	for _, f := range n.Flags {
		flags = append(flags, flagText(f))
	}
	sort.Strings(flags)
	parts = append(parts, flags...)
	switch x := in.(type) {
	case *lang.RunInstr:
		parts = append(parts, x.Cmd.Text)
	case *lang.StartInstr:
		parts = append(parts, x.Cmd.Text)
	case *lang.HealthcheckInstr:
		parts = append(parts, x.Cmd.Text)
	case *lang.EnvInstr:
		parts = append(parts, x.Key.Value+"="+x.Value.Value)
	case *lang.WorkdirInstr:
		parts = append(parts, x.Path.Value)
	case *lang.UserInstr:
		parts = append(parts, x.Name.Value)
	case *lang.ArgInstr:
		s := x.Name.Value
		if x.Default != nil {
			s += "=" + x.Default.Value
		}
		parts = append(parts, s)
	case *lang.CopyInstr:
		for _, s := range x.Sources {
			parts = append(parts, s.Value)
		}
		parts = append(parts, x.Dest.Value)
	case *lang.FromInstr:
		parts = append(parts, x.Base.Value)
		if x.Name != nil {
			parts = append(parts, "AS", x.Name.Value)
		}
	}
	return strings.Join(parts, " ")
}

func TestCanonicalTextMatchesJoin(t *testing.T) {
	srcs := []string{lazyStateFile,
		"run --timeout=1m --user=root --no-cache make\nCOPY --chmod=0755 --chown=a:b a b* /d/\nARG X=1\nENV K=v w\nHEALTHCHECK --retries=3 --interval=1s CMD curl x\nFROM base AS x\nrun\n",
		"FROM  base  AS  x\nRUN  echo\nRUN echo \\\n  two\nCOPY a  b\nWORKDIR /a b \nENV A=1\nArg B\nUSER u\t\nSTART x\n"}
	names, _ := filepath.Glob(filepath.Join(wrennfileDir, "*"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, string(b))
	}
	n := 0
	for _, src := range srcs {
		f, _ := lang.Parse("Wrennfile", []byte(src))
		for _, st := range f.Stages {
			for _, in := range st.Instructions {
				n++
				want := canonicalTextJoin(in)
				if got := CanonicalText(in); got != want {
					t.Errorf("CanonicalText = %q, want %q", got, want)
				}
				if got := canonicalText(f, in); got != want {
					t.Errorf("canonicalText from the source = %q, want %q", got, want)
				}
			}
		}
	}
	if n < 50 {
		t.Errorf("compared %d instructions", n)
	}
}

// TestKeysAcrossCheckpoints changes variables before, between and after
// the hash checkpoints (every cpVars variables) of a long env, in an
// order that inserts at the front, the middle and the end and replaces,
// with ARGs changing in between: every key must be the digest of the
// preimage Step.Preimage builds from the maps alone.
func TestKeysAcrossCheckpoints(t *testing.T) {
	var b strings.Builder
	b.WriteString("FROM minimal\n")
	n := 5*cpVars + 3
	for i := range 3 * n {
		k := (i * 37) % n // a permutation of 0..n-1, three times over
		fmt.Fprintf(&b, "ENV V%03d=%d-%d\n", k, i, k)
		if i%7 == 0 {
			fmt.Fprintf(&b, "ARG A%d=%d\n", i%3, i)
		}
		if i%11 == 0 {
			b.WriteString("ARG A1\n")
		}
		fmt.Fprintf(&b, "RUN echo %d\n", i)
	}
	f, diags := lang.Parse("Wrennfile", []byte(b.String()))
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	p, cdiags := Compile(f, Options{})
	if cdiags.HasErrors() {
		t.Fatal(cdiags.Errors())
	}
	for _, s := range p.Steps {
		if digest.FromBytes(s.Preimage()) != s.Key {
			t.Fatalf("step %d %s: key is not the digest of its preimage", s.ID, s.Text)
		}
	}
	if last := p.Steps[len(p.Steps)-1]; len(last.Env()) < n {
		t.Errorf("env has %d variables, want at least %d", len(last.Env()), n)
	}
}

// TestCanonicalTextSharesSource: an instruction written canonically is
// its own text, taken from the source without an allocation.
func TestCanonicalTextSharesSource(t *testing.T) {
	f, _ := lang.Parse("Wrennfile", []byte("RUN echo hi && make\n"))
	in := f.Stages[0].Instructions[0]
	if got := canonicalText(f, in); got != "RUN echo hi && make" {
		t.Fatalf("text %q", got)
	}
	if n := testing.AllocsPerRun(10, func() { canonicalText(f, in) }); n != 0 {
		t.Errorf("%v allocations per text", n)
	}
}

// FuzzLazySteps compiles arbitrary Wrennfiles and checks what steps build
// on demand against what they were keyed with and against the eager
// forms: every key is the digest of Step.Preimage, the preimage is
// canonical and holds the step's Env and Args, and RUN and START scripts
// equal RunScript and StartScript of those maps.
func FuzzLazySteps(f *testing.F) {
	f.Add(lazyStateFile)
	f.Add("FROM a AS b\nENV A=1 B=2\nARG X=$A\nRUN echo 'q' && true\nUSER u\nWORKDIR w\nSTART s\nFROM b\nARG X\nCOPY --from=b /a /b\n")
	names, _ := filepath.Glob(filepath.Join(wrennfileDir, "*"))
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, _ := lang.Parse("Wrennfile", []byte(src))
		p, _ := Compile(file, Options{BuildArgs: map[string]string{"X": "b'a"}})
		for _, s := range p.Steps {
			pre := s.Preimage()
			if digest.FromBytes(pre) != s.Key {
				t.Fatalf("step %d %s: key is not the digest of its preimage", s.ID, s.Text)
			}
			d, err := DecodePreimage(pre)
			if err != nil {
				t.Fatalf("step %d: %v", s.ID, err)
			}
			env, args := s.Env(), s.Args()
			// Invalid UTF-8 is written as \ufffd, which decodes to U+FFFD:
			// such a preimage does not read back to the same values.
			if utf8.ValidString(src) && (!bytes.Equal(d.Encode(), pre) || !maps.Equal(d.Env, env) || !maps.Equal(d.BuildArgs, args)) {
				t.Fatalf("step %d: preimage is not canonical or not the step's state:\n%s", s.ID, pre)
			}
			vars := maps.Clone(args)
			maps.Copy(vars, env)
			switch s.Kind {
			case lang.KindRun:
				if want := RunScript(cmp(s.runAs, s.User), s.Workdir, vars, s.Cmd); s.Script() != want {
					t.Fatalf("step %d: script\n got %s\nwant %s", s.ID, s.Script(), want)
				}
			case lang.KindStart:
				if want := StartScript(s.User, s.Workdir, vars, s.Cmd); s.Script() != want {
					t.Fatalf("step %d: script\n got %s\nwant %s", s.ID, s.Script(), want)
				}
			}
		}
	})
}
