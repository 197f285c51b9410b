package compiler

import (
	"testing"

	"wrenn.dev/wrenn/lang"
)

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "''"},
		{"echo hi", "'echo hi'"},
		{"it's", `'it'\''s'`},
		{"''", `''\'''\'''`},
		{`a "b" $c`, `'a "b" $c'`},
	} {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestRunScript(t *testing.T) {
	env := map[string]string{"PATH": "/usr/bin:/bin", "A": "x y", "HOME": "/root"}
	for _, tc := range []struct {
		name, user, wd, cmd, want string
	}{
		{"root no workdir", "root", "", "echo hi", `A='x y' HOME='/root' PATH='/usr/bin:/bin' /bin/sh -c 'echo hi'`},
		{"root with workdir", "root", "/app", "echo hi", `cd '/app' && A='x y' HOME='/root' PATH='/usr/bin:/bin' /bin/sh -c 'echo hi'`},
		{"non-root", "wrenn-user", "/w", "echo 'q'",
			`su 'wrenn-user' -s /bin/sh -c 'cd '\''/w'\'' && A='\''x y'\'' HOME='\''/root'\'' PATH='\''/usr/bin:/bin'\'' /bin/sh -c '\''echo '\''\'\'''\''q'\''\'\'''\'''\'''`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RunScript(tc.user, tc.wd, env, tc.cmd); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestStartScript(t *testing.T) {
	env := map[string]string{"B": "2"}
	if got, want := StartScript("root", "/srv", env, "python -m http.server"),
		`cd '/srv' && B='2' nohup /bin/sh -c 'python -m http.server' >/dev/null 2>&1 &`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, want := StartScript("app", "", nil, "run"),
		`su 'app' -s /bin/sh -c 'nohup /bin/sh -c '\''run'\'' >/dev/null 2>&1 &'`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "PATH": "/bin", "E": ""}
	look := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"$A", "1"},
		{"${A}", "1"},
		{"x${A}y", "x1y"},
		{"$Ab", ""}, // the name is Ab, unset
		{"/opt:$PATH", "/opt:/bin"},
		{"$$A", "$A"},
		{"$$$A", "$1"},
		{"$UNSET-x", "-x"},
		{"${UNSET}", ""},
		{"cost $5", "cost $5"},
		{"${A", "${A"},
		{"${1x}", "${1x}"},
		{"end$", "end$"},
		{"$(echo hi)", "$(echo hi)"},
		{"`id`", "`id`"},
		{"'$A' \"$A\"", "'1' \"1\""},
		{"1 B=2", "1 B=2"},
	} {
		if got := Expand(tc.in, look); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestChainScriptMatchesRunScript checks the scripts Compile builds from
// its cached state against RunScript and StartScript on each step's own
// state: ARGs shadowed by ENV, values with quotes, a non-root user and
// RUN --user, a second stage inheriting the env, ARGs unset again.
func TestChainScriptMatchesRunScript(t *testing.T) {
	var b astBuilder
	f := file(
		b.arg("V", "a'rg"), b.env("Z", "z"), b.run("echo $V"),
		b.env("V", "it's env"), b.user("app"), b.workdir("bob's dir"), b.run("echo 'hi'"),
		b.run("id", flag("user", "root")), b.arg("A"), b.env("A", ""), b.start("sleep 1"),
		b.user("root"), b.run("true"),
	)
	checkChainScripts(t, f, Options{BuildArgs: map[string]string{"A": "x"}}, 9)
	// Without ARGs the variable part is spliced at each ENV: insert at the
	// front, the middle and the end, replace, for root and another user.
	b = astBuilder{}
	f = file(
		b.env("M", "1"), b.run("a"), b.env("A", "x'y"), b.run("b"), b.env("Z", "z"), b.run("c"),
		b.user("app"), b.run("d"), b.env("M", "it's"), b.run("e"), b.env("N", ""), b.run("f", flag("user", "root")),
		b.env("A", "2"), b.start("g"), b.user("root"), b.env("B", "3"), b.run("h"),
	)
	checkChainScripts(t, f, Options{}, 8)
}

func checkChainScripts(t *testing.T, f *lang.File, opts Options, min int) {
	t.Helper()
	p := mustCompile(t, f, opts)
	n := 0
	for _, s := range p.Steps {
		vars := map[string]string{}
		for k, v := range s.Args() {
			vars[k] = v
		}
		for k, v := range s.Env() {
			vars[k] = v
		}
		var want string
		switch s.Kind {
		case lang.KindRun:
			user := s.User
			if u, ok := runUser(f, s); ok {
				user = u
			}
			want = RunScript(user, s.Workdir, vars, s.Cmd)
		case lang.KindStart:
			want = StartScript(s.User, s.Workdir, vars, s.Cmd)
		default:
			continue
		}
		n++
		if s.Script() != want {
			t.Errorf("step %d %s:\n got %s\nwant %s", s.ID, s.Text, s.Script(), want)
		}
	}
	if n < min {
		t.Errorf("checked %d RUN/START steps, want at least %d", n, min)
	}
}

// runUser is the --user of a RUN step, found by its range.
func runUser(f *lang.File, s *Step) (string, bool) {
	for _, st := range f.Stages {
		for _, in := range st.Instructions {
			if r, ok := in.(*lang.RunInstr); ok && r.Range == s.Range && r.User != "" {
				return r.User, true
			}
		}
	}
	return "", false
}
