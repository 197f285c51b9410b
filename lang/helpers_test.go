package lang

import (
	"testing"

	"mvdan.cc/sh/v3/syntax"
)

func TestSuggest(t *testing.T) {
	cands := []string{"RUN", "START", "ENV", "WORKDIR", "USER", "COPY", "HEALTHCHECK", "ARG", "FROM"}
	for _, tc := range []struct{ word, want string }{
		{"RUNN", "RUN"},
		{"run", "RUN"},
		{"CPOY", "COPY"},       // transposition: one edit
		{"WROKDIR", "WORKDIR"}, // transposition
		{"HELTHCHECK", "HEALTHCHECK"},
		{"STRAT", "START"},
		{"XYZ", ""}, // three edits from everything: not a typo
		{"R", ""},   // would replace the whole word
		{"ADD", ""}, // two edits from ARG; a three-letter word allows one
		{"ENTRYPOINT", ""},
	} {
		got := Suggest(tc.word, cands)
		if got != tc.want {
			t.Errorf("Suggest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
	if got := DidYouMean("lnt-off", []string{"lint-off", "lint-error"}); got != "did you mean lint-off?" {
		t.Errorf("DidYouMean = %q", got)
	}
	if got := DidYouMean("zzz", []string{"lint-off"}); got != "" {
		t.Errorf("DidYouMean without a match = %q", got)
	}
}

func TestLineIndex(t *testing.T) {
	src := []byte("ab\n\nc\xc3\xa9d\n")
	li := NewLineIndex("f", src)
	for _, tc := range []struct {
		off  int
		want Pos
	}{
		{0, Pos{1, 1, 0}}, {2, Pos{1, 3, 2}}, {3, Pos{2, 1, 3}}, {4, Pos{3, 1, 4}},
		{7, Pos{3, 4, 7}}, // columns count bytes: é is two
		{9, Pos{4, 1, 9}}, {99, Pos{4, 1, 9}}, {-1, Pos{1, 1, 0}},
	} {
		if got := li.Pos(tc.off); got != tc.want {
			t.Errorf("Pos(%d) = %+v, want %+v", tc.off, got, tc.want)
		}
		if got := Position(src, tc.off); got != tc.want {
			t.Errorf("Position(%d) = %+v, want %+v", tc.off, got, tc.want)
		}
	}
	for off := 0; off <= len(src); off++ {
		p := li.Pos(off)
		if got := li.Offset(p.Line, p.Column); got != off {
			t.Errorf("Offset(Pos(%d)) = %d", off, got)
		}
	}
	if got := li.Offset(1, 99); got != 2 {
		t.Errorf("a column past the line end clamps to it, got %d", got)
	}
	if got, n := li.Offset(99, 1), li.Lines(); got != len(src) || n != 4 {
		t.Errorf("Offset past the end = %d, Lines = %d", got, n)
	}
	if r := li.Range(5, 2); r.Start.Offset != 5 || r.End.Offset != 5 {
		t.Errorf("an inverted range must collapse to its start, got %+v", r)
	}
}

func TestDirectives(t *testing.T) {
	for _, tc := range []struct {
		src  string
		skip bool
	}{
		{"# wrenn:skip-pre-post\nRUN x\n", true},
		{"#wrenn:skip-pre-post=true\n", true},
		{"# wrenn: skip-pre-post = false\n", false},
		{"# wrenn:skip-pre-post=true\n# wrenn:skip-pre-post=false\n", false},
		{"RUN x\n# wrenn:skip-pre-post=true\n", false}, // misplaced
		{"# wrenn:skip-pre-post=yes\n", false},         // invalid
		{"", false},
	} {
		f, _ := Parse("W", []byte(tc.src))
		if got := f.SkipPrePost(); got != tc.skip {
			t.Errorf("%q: SkipPrePost = %v, want %v", tc.src, got, tc.skip)
		}
	}
	f, ds := Parse("W", []byte("# wrenn:lint-off=run-cd,sudo-as-root\n\n# note\n# wrenn:lint.run-cd=error\nRUN x\n"))
	if len(ds) > 0 {
		t.Fatal(dumpDiags(ds))
	}
	d, ok := f.Directive("lint-off")
	if !ok || d.Value != "run-cd,sudo-as-root" || d.Range.Start.Line != 1 {
		t.Errorf("Directive(lint-off) = %+v, %v", d, ok)
	}
	if d, ok := f.Directive("lint.run-cd"); !ok || d.Value != "error" || d.Range.Start.Line != 4 {
		t.Errorf("a directive after a blank line and a comment is still in the header: %+v %v", d, ok)
	}
	if _, ok := f.Directive("nope"); ok {
		t.Error("Directive(nope) found")
	}
}

// TestShellSyntaxMapsIntoFile walks the cached syntax tree of a continued
// RUN and maps a word's position back into the file.
func TestShellSyntaxMapsIntoFile(t *testing.T) {
	src := "RUN apt-get update && \\\n    # comment\n    apt-get install -y curl\n"
	f, ds := Parse("W", []byte(src))
	if len(ds) > 0 {
		t.Fatal(dumpDiags(ds))
	}
	run := f.Stages[0].Instructions[0].(*RunInstr)
	tree := run.Cmd.Syntax()
	if tree == nil || run.Cmd.Bash() {
		t.Fatalf("want a POSIX tree, got %v (bash=%v)", tree, run.Cmd.Bash())
	}
	var found bool
	syntax.Walk(tree, func(n syntax.Node) bool {
		if lit, ok := n.(*syntax.Lit); ok && lit.Value == "curl" {
			off := run.Cmd.SourceOffset(int(lit.Pos().Offset()))
			if pos := Position([]byte(src), off); pos.Line != 3 || pos.Column != 24 || src[off:off+4] != "curl" {
				t.Errorf("curl at %+v, want line 3 column 24", pos)
			}
			found = true
		}
		return true
	})
	if !found {
		t.Fatal("no curl literal in the tree")
	}
	if f, _ := Parse("W", []byte("RUN if x\n")); f.Stages[0].Instructions[0].(*RunInstr).Cmd.Syntax() != nil {
		t.Error("a body with a syntax error must have no tree")
	}
}
