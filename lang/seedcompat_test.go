package lang

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// meaning renders what a single instruction means to the executor, in the
// terms of DESIGN.md's seed table, ignoring ranges.
func meaning(in Instruction) string {
	switch x := in.(type) {
	case *RunInstr:
		return fmt.Sprintf("RUN timeout=%s user=%q cmd=%q", x.Timeout, x.User, x.Cmd.Text)
	case *StartInstr:
		return fmt.Sprintf("START cmd=%q", x.Cmd.Text)
	case *EnvInstr:
		return fmt.Sprintf("ENV %q=%q", x.Key.Value, x.Value.Value)
	case *WorkdirInstr:
		return fmt.Sprintf("WORKDIR %q", x.Path.Value)
	case *UserInstr:
		return fmt.Sprintf("USER %q", x.Name.Value)
	case *CopyInstr:
		var srcs []string
		for _, s := range x.Sources {
			srcs = append(srcs, s.Value)
		}
		return fmt.Sprintf("COPY %q -> %q", srcs, x.Dest.Value)
	}
	return fmt.Sprintf("%T", in)
}

// TestSeedCompatibility pins DESIGN.md's rule: every line the seed's recipe
// parser accepts means the same, every line it rejects is an error. Each
// line goes through both entry points: a Wrennfile and the seed's JSON list.
func TestSeedCompatibility(t *testing.T) {
	accepted := []struct{ line, want string }{
		{"RUN echo hi", `RUN timeout=0s user="" cmd="echo hi"`},
		{"RUN --timeout=5m make -j4", `RUN timeout=5m0s user="" cmd="make -j4"`},
		{"RUN --timeout=90s echo a", `RUN timeout=1m30s user="" cmd="echo a"`},
		{"RUN --timeout=1h2m3s echo a", `RUN timeout=1h2m3s user="" cmd="echo a"`},
		{"RUN --timeout=250ms echo a", `RUN timeout=250ms user="" cmd="echo a"`},
		{"run echo hi", `RUN timeout=0s user="" cmd="echo hi"`},
		{"Run echo hi", `RUN timeout=0s user="" cmd="echo hi"`},
		{"RUN echo 'it''s' \"q\" $HOME", `RUN timeout=0s user="" cmd="echo 'it''s' \"q\" $HOME"`},
		{"RUN echo a # shell comment", `RUN timeout=0s user="" cmd="echo a # shell comment"`},
		{"RUN echo a--timeout=5s", `RUN timeout=0s user="" cmd="echo a--timeout=5s"`},
		{"START python3 -m http.server", `START cmd="python3 -m http.server"`},
		{"start node app.js &", `START cmd="node app.js &"`},
		{"START --port=3 x", `START cmd="--port=3 x"`},
		{"ENV A=1", `ENV "A"="1"`},
		{"ENV A=1 B=2", `ENV "A"="1 B=2"`},
		{"ENV GREETING=hello world", `ENV "GREETING"="hello world"`},
		{`ENV Q="quoted value"`, `ENV "Q"="\"quoted value\""`},
		{"ENV X='single'", `ENV "X"="'single'"`},
		{"ENV URL=a=b=c", `ENV "URL"="a=b=c"`},
		{"ENV EMPTY=", `ENV "EMPTY"=""`},
		{"ENV P=$PATH:/opt/bin", `ENV "P"="$PATH:/opt/bin"`},
		{"ENV _x9=v", `ENV "_x9"="v"`},
		{"env lower=case", `ENV "lower"="case"`},
		{"WORKDIR /srv/app", `WORKDIR "/srv/app"`},
		{"WORKDIR /srv/my app", `WORKDIR "/srv/my app"`},
		{"WORKDIR relative/dir", `WORKDIR "relative/dir"`},
		{"workdir /tmp", `WORKDIR "/tmp"`},
		{"USER root", `USER "root"`},
		{"USER wrenn-user", `USER "wrenn-user"`},
		{"USER _svc_1-a", `USER "_svc_1-a"`},
		{"user Bob", `USER "Bob"`},
		{"COPY a b", `COPY ["a"] -> "b"`},
		{"COPY a.txt dir/b /opt/dest/", `COPY ["a.txt" "dir/b"] -> "/opt/dest/"`},
		{"COPY ./x .", `COPY ["./x"] -> "."`},
		{"COPY a   b", `COPY ["a"] -> "b"`},
		{"COPY src /abs/../dest", `COPY ["src"] -> "/abs/../dest"`},
		{"COPY a..b c", `COPY ["a..b"] -> "c"`},
		{"copy a b", `COPY ["a"] -> "b"`},
	}
	rejected := []struct{ line, code string }{
		{"FOO bar", CodeUnknownInstruction},
		{"RUNN echo", CodeUnknownInstruction},
		{"RUN", CodeMissingArgument},
		{"RUN --timeout=5m", CodeMissingArgument},
		{"RUN --timeout=abc echo", CodeInvalidDuration},
		{"RUN --timeout=5 echo", CodeInvalidDuration},
		{"RUN --timeout= echo", CodeInvalidDuration},
		{"RUN --timeout=-1s echo", CodeInvalidDuration},
		{"START", CodeMissingArgument},
		{"ENV", CodeMissingArgument},
		{"ENV A", CodeEnvMissingEquals},
		{"ENV A B", CodeEnvMissingEquals},
		{"ENV =x", CodeInvalidEnvKey},
		{"ENV A B=1", CodeInvalidEnvKey},
		{"WORKDIR", CodeMissingArgument},
		// The seed ran `mkdir -p '--odd'`, which fails: never a working line.
		{"WORKDIR --odd", CodeUnknownFlag},
		{"USER", CodeMissingArgument},
		{"USER 1abc", CodeInvalidUserName},
		{"USER a b", CodeInvalidUserName},
		{"USER a:b", CodeInvalidUserName},
		{"USER -x", CodeInvalidUserName},
		{"COPY", CodeMissingArgument},
		{"COPY onlyone", CodeMissingArgument},
		{"COPY ../x /y", CodeCopySourceEscapes},
		{"COPY a/../../x /y", CodeCopySourceEscapes},
		{"COPY .. /y", CodeCopySourceEscapes},
		{"COPY /etc/passwd /y", CodeCopySourceEscapes},
		{"COPY ok /etc/shadow /y", CodeCopySourceEscapes},
	}
	parseBoth := func(t *testing.T, line string) []struct {
		f  *File
		ds Diagnostics
	} {
		f1, d1 := Parse("W", []byte(line+"\n"))
		f2, d2 := ParseRecipe("R", []string{line})
		return []struct {
			f  *File
			ds Diagnostics
		}{{f1, d1}, {f2, d2}}
	}
	for _, tc := range accepted {
		t.Run("accept/"+tc.line, func(t *testing.T) {
			for _, r := range parseBoth(t, tc.line) {
				if len(r.ds) > 0 {
					t.Fatalf("want no diagnostics, got:\n%s", dumpDiags(r.ds))
				}
				ins := r.f.Stages[0].Instructions
				if len(ins) != 1 {
					t.Fatalf("want 1 instruction, got %d", len(ins))
				}
				if got := meaning(ins[0]); got != tc.want {
					t.Errorf("got  %s\nwant %s", got, tc.want)
				}
			}
		})
	}
	for _, tc := range rejected {
		t.Run("reject/"+tc.line, func(t *testing.T) {
			for _, r := range parseBoth(t, tc.line) {
				errs := r.ds.Errors()
				if len(errs) == 0 || errs[0].Code != tc.code {
					t.Errorf("want error %s, got:\n%s", tc.code, dumpDiags(r.ds))
				}
			}
		})
	}
}

// TestRecipeLinesAreInstructions checks the seed's list form: element N is
// line N, and a trailing backslash does not join elements.
func TestRecipeLinesAreInstructions(t *testing.T) {
	f, ds := ParseRecipe("R", []string{"RUN echo a \\", "RUN echo b", "ENV A=1"})
	if len(ds) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", dumpDiags(ds))
	}
	ins := f.Stages[0].Instructions
	if len(ins) != 3 || !f.Recipe {
		t.Fatalf("want 3 instructions in recipe mode, got %d (recipe=%v)", len(ins), f.Recipe)
	}
	for i, in := range ins {
		if l := in.Node().Range.Start.Line; l != i+1 {
			t.Errorf("instruction %d on line %d", i+1, l)
		}
	}
	if got := ins[0].(*RunInstr).Cmd.Text; got != `echo a \` {
		t.Errorf("backslash must stay literal in a recipe line, got %q", got)
	}
	// An element holding a newline stays one instruction, as the seed ran it.
	f, ds = ParseRecipe("R", []string{"RUN echo a\necho b", "ENV A=1"})
	if len(ds) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", dumpDiags(ds))
	}
	if ins := f.Stages[0].Instructions; len(ins) != 2 || ins[0].(*RunInstr).Cmd.Text != "echo a\necho b" || ins[1].Node().Range.Start.Line != 3 {
		t.Errorf("multi-line element: got %d instructions", len(ins))
	}
	// The same text as a Wrennfile continues the line.
	f, _ = Parse("W", []byte("RUN echo a \\\nRUN echo b\n"))
	if n := len(f.Stages[0].Instructions); n != 1 {
		t.Errorf("a Wrennfile joins continued lines: want 1 instruction, got %d", n)
	}
}

func TestHealthcheckDefaults(t *testing.T) {
	f, ds := Parse("W", []byte("HEALTHCHECK true\n"))
	if len(ds) > 0 {
		t.Fatal(dumpDiags(ds))
	}
	h := f.Stages[0].Instructions[0].(*HealthcheckInstr)
	if h.Interval != 3*time.Second || h.Timeout != 10*time.Second || h.StartPeriod != 0 || h.Retries != 0 {
		t.Errorf("seed defaults 3s/10s/0/0, got %s/%s/%s/%d", h.Interval, h.Timeout, h.StartPeriod, h.Retries)
	}
	if !strings.EqualFold(h.Cmd.Text, "true") {
		t.Errorf("cmd %q", h.Cmd.Text)
	}
}
