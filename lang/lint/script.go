package lint

import (
	"path"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"
	"wrenn.dev/wrenn/lang"
)

// script is a RUN, START or HEALTHCHECK body parsed once as POSIX shell and
// flattened into what the command rules look at, so that no rule matches
// on raw text: `echo "apt install x"` is one call to echo, not to apt.
type script struct {
	sh    *lang.Shell
	file  *syntax.File // nil when the body is not valid shell
	calls []*call
	// background holds statements ending in '&'.
	background []*syntax.Stmt
	// pipelines holds each top-most pipeline's calls, left to right.
	pipelines [][]*call
	// params holds every parameter expansion ($X, ${X…}) by name.
	params []param
	visit  func(syntax.Node) bool
	sp     *scriptParser // where the calls come from
}

type param struct {
	name string
	off  int // offset in sh.Text
}

// call is one simple command.
type call struct {
	expr *syntax.CallExpr
	// args holds each word's literal value ("" when it has expansions),
	// quotes removed; lit[i] tells which words are fully literal.
	args []string
	lit  []bool
	// nested is true inside ( ), $( ), a function body or a loop/if, where
	// the effect of cd and friends does not reach later statements.
	nested bool
	// last is true for the final command of the body.
	last bool
}

// name is the command's base name ("/usr/bin/apt-get" -> "apt-get").
func (c *call) name() string { return c.nameAt(0) }

func (c *call) nameAt(i int) string {
	if i >= len(c.args) {
		return ""
	}
	a := c.args[i]
	if a != "" && strings.IndexByte(a, '/') < 0 {
		return a // path.Base's answer, without its scan per rule
	}
	return path.Base(a)
}

// command skips wrappers that run another command (sudo, env, nohup,
// time, nice, exec, command, xargs) and returns the index of the word that
// names the real command, or len(args).
func (c *call) command() int {
	i := 0
	for i < len(c.args) {
		switch c.nameAt(i) {
		case "sudo":
			i++
			for i < len(c.args) && strings.HasPrefix(c.args[i], "-") {
				switch c.args[i] {
				case "-u", "-g", "-U", "-C", "-h", "-p", "-r", "-t", "-D", "-R":
					i++ // takes a value
				}
				i++
			}
		case "env":
			i++
			for i < len(c.args) && (strings.HasPrefix(c.args[i], "-") || strings.Contains(c.args[i], "=")) {
				i++
			}
		case "nohup", "exec", "command", "setsid", "stdbuf", "ionice", "chronic":
			i++
			for i < len(c.args) && strings.HasPrefix(c.args[i], "-") {
				i++
			}
		case "nice":
			i++
			for i < len(c.args) && strings.HasPrefix(c.args[i], "-") {
				if c.args[i] == "-n" {
					i++
				}
				i++
			}
		case "time":
			i++
			for i < len(c.args) && strings.HasPrefix(c.args[i], "-") {
				i++
			}
		case "xargs":
			i++
			for i < len(c.args) && strings.HasPrefix(c.args[i], "-") {
				i++
			}
		default:
			return i
		}
	}
	return i
}

// hasFlag reports whether any literal argument after index from is one of
// the long flags, or a short-flag cluster containing one of the letters.
func (c *call) hasFlag(from int, short string, long ...string) bool {
	for i := from; i < len(c.args); i++ {
		a := c.args[i]
		if a == "--" {
			return false
		}
		for _, l := range long {
			if a == l || strings.HasPrefix(a, l+"=") {
				return true
			}
		}
		if short != "" && len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsAny(a[1:], short) {
			return true
		}
	}
	return false
}

// scriptParser parses shell bodies; one per pass so its buffers are reused
// and the scripts and calls of every body come from shared slabs (a
// 1,000-step file would otherwise allocate several objects per RUN).
type scriptParser struct {
	p *syntax.Parser
	r strings.Reader

	scripts []script
	calls   []call
	callPtr []*call
	strs    []string
	bools   []bool
	scratch []*call // s.calls while a body is walked
}

// slabSize is how many elements a slab of the scriptParser holds.
const slabSize = 128

// take returns the next zeroed element of *slab.
func take[T any](slab *[]T) *T {
	if len(*slab) == cap(*slab) {
		*slab = make([]T, 0, slabSize)
	}
	*slab = (*slab)[:len(*slab)+1]
	return &(*slab)[len(*slab)-1]
}

// carve returns the next n zeroed elements of *slab, with no room to grow
// into the next ones.
func carve[T any](slab *[]T, n int) []T {
	if cap(*slab)-len(*slab) < n {
		*slab = make([]T, 0, max(slabSize, n))
	}
	i := len(*slab)
	*slab = (*slab)[:i+n]
	return (*slab)[i : i+n : i+n]
}

// parse analyses sh; s.file is nil when the body is not valid shell (then
// callers fall back to scanning the text for variable uses).
func (sp *scriptParser) parse(sh *lang.Shell) *script {
	s := take(&sp.scripts)
	s.sh, s.sp = sh, sp
	// The parser already built the tree while checking the body; parse
	// here only for a Shell made without it (a hand-built AST).
	f := sh.Syntax()
	if f == nil && sh.Range == (lang.Range{}) {
		if sp.p == nil {
			sp.p = syntax.NewParser(syntax.Variant(syntax.LangPOSIX), syntax.KeepComments(false))
		}
		sp.r.Reset(sh.Text)
		var err error
		if f, err = sp.p.Parse(&sp.r, ""); err != nil {
			return s // the parser reports shell syntax errors; rules see nothing
		}
	}
	if f == nil {
		return s
	}
	s.file = f
	s.calls = sp.scratch[:0]
	s.walkStmts(f.Stmts, false)
	sp.scratch = s.calls[:0]
	s.calls = append(carve(&sp.callPtr, len(s.calls))[:0], s.calls...)
	if n := len(s.calls); n > 0 && len(f.Stmts) > 0 {
		last := f.Stmts[len(f.Stmts)-1]
		if c := s.calls[n-1]; !c.nested && c.expr.End().Offset() == lastCallEnd(last) {
			c.last = true
		}
	}
	return s
}

// lastCallEnd is the end offset of the rightmost simple command of stmt.
func lastCallEnd(st *syntax.Stmt) uint {
	switch x := st.Cmd.(type) {
	case *syntax.CallExpr:
		return x.End().Offset()
	case *syntax.BinaryCmd:
		return lastCallEnd(x.Y)
	}
	return 0
}

func (s *script) walkStmts(stmts []*syntax.Stmt, nested bool) {
	for _, st := range stmts {
		s.walkStmt(st, nested)
	}
}

func (s *script) walkStmt(st *syntax.Stmt, nested bool) {
	if st.Background {
		s.background = append(s.background, st)
	}
	for _, r := range st.Redirs {
		s.walkWord(r.Word)
	}
	if b, ok := st.Cmd.(*syntax.BinaryCmd); ok && (b.Op == syntax.Pipe || b.Op == syntax.PipeAll) {
		start := len(s.calls)
		s.walkCmd(st.Cmd, nested)
		s.pipelines = append(s.pipelines, slices.Clone(s.calls[start:]))
		return
	}
	s.walkCmd(st.Cmd, nested)
}

func (s *script) walkCmd(cmd syntax.Command, nested bool) {
	switch x := cmd.(type) {
	case *syntax.CallExpr:
		c := take(&s.sp.calls)
		c.expr, c.nested = x, nested
		c.args, c.lit = carve(&s.sp.strs, len(x.Args)), carve(&s.sp.bools, len(x.Args))
		for _, a := range x.Assigns {
			if a.Value != nil {
				s.walkWord(a.Value)
			}
		}
		for i, w := range x.Args {
			c.args[i], c.lit[i] = literal(w)
			s.walkWord(w)
		}
		s.calls = append(s.calls, c)
	case *syntax.BinaryCmd:
		if x.Op == syntax.Pipe || x.Op == syntax.PipeAll {
			// Statements of a pipeline run in subshells.
			s.walkStmtNoPipe(x.X, true)
			s.walkStmtNoPipe(x.Y, true)
			return
		}
		s.walkStmt(x.X, nested)
		s.walkStmt(x.Y, nested)
	case *syntax.Subshell:
		s.walkStmts(x.Stmts, true)
	case *syntax.Block:
		s.walkStmts(x.Stmts, nested)
	case *syntax.IfClause:
		for ; x != nil; x = x.Else {
			s.walkStmts(x.Cond, true)
			s.walkStmts(x.Then, true)
		}
	case *syntax.WhileClause:
		s.walkStmts(x.Cond, true)
		s.walkStmts(x.Do, true)
	case *syntax.ForClause:
		if wi, ok := x.Loop.(*syntax.WordIter); ok {
			for _, w := range wi.Items {
				s.walkWord(w)
			}
		}
		s.walkStmts(x.Do, true)
	case *syntax.CaseClause:
		s.walkWord(x.Word)
		for _, it := range x.Items {
			s.walkStmts(it.Stmts, true)
		}
	case *syntax.FuncDecl:
		s.walkStmt(x.Body, true)
	case *syntax.TimeClause:
		if x.Stmt != nil {
			s.walkStmt(x.Stmt, nested)
		}
	default:
		if cmd != nil {
			syntax.Walk(cmd, s.visitWordNode)
		}
	}
}

// walkStmtNoPipe walks a pipeline element without recording it as a new
// pipeline (the outer statement records the whole chain).
func (s *script) walkStmtNoPipe(st *syntax.Stmt, nested bool) {
	if st.Background {
		s.background = append(s.background, st)
	}
	for _, r := range st.Redirs {
		s.walkWord(r.Word)
	}
	s.walkCmd(st.Cmd, nested)
}

func (s *script) walkWord(w *syntax.Word) {
	if w == nil {
		return
	}
	if len(w.Parts) == 1 {
		if _, ok := w.Parts[0].(*syntax.Lit); ok {
			return // most words: nothing inside to find
		}
	}
	if s.visit == nil {
		s.visit = s.visitWordNode // one method value per script, not per word
	}
	syntax.Walk(w, s.visit)
}

func (s *script) visitWordNode(n syntax.Node) bool {
	switch x := n.(type) {
	case *syntax.ParamExp:
		if x.Param != nil {
			s.params = append(s.params, param{name: x.Param.Value, off: int(x.Param.Pos().Offset())})
		}
	case *syntax.CmdSubst:
		s.walkStmts(x.Stmts, true)
		return false
	}
	return true
}

// literal returns the value of w with quotes removed, and whether it had no
// expansions at all.
func literal(w *syntax.Word) (string, bool) {
	if len(w.Parts) == 1 {
		if l, ok := w.Parts[0].(*syntax.Lit); ok {
			return l.Value, true
		}
	}
	var b strings.Builder
	ok := literalParts(&b, w.Parts)
	return b.String(), ok
}

func literalParts(b *strings.Builder, parts []syntax.WordPart) bool {
	ok := true
	for _, p := range parts {
		switch x := p.(type) {
		case *syntax.Lit:
			b.WriteString(x.Value)
		case *syntax.SglQuoted:
			b.WriteString(x.Value)
		case *syntax.DblQuoted:
			if !literalParts(b, x.Parts) {
				ok = false
			}
		default:
			ok = false
		}
	}
	return ok
}

// startsWithParam reports whether w begins with a plain $X or "$X" whose
// emptiness is not guarded by ${X:?}.
func startsWithParam(w *syntax.Word) bool {
	first := w.Parts[0]
	if dq, ok := first.(*syntax.DblQuoted); ok && len(dq.Parts) == 1 {
		first = dq.Parts[0]
	}
	pe, ok := first.(*syntax.ParamExp)
	if !ok {
		return false
	}
	if pe.Exp != nil {
		switch pe.Exp.Op {
		case syntax.ErrorUnset, syntax.ErrorUnsetOrNull, syntax.DefaultUnset, syntax.DefaultUnsetOrNull, syntax.AssignUnset, syntax.AssignUnsetOrNull:
			return false
		}
	}
	return true
}

// literalTail is the literal text of w after its first part.
func literalTail(w *syntax.Word) (string, bool) {
	var b strings.Builder
	ok := literalParts(&b, w.Parts[1:])
	return b.String(), ok || strings.HasPrefix(b.String(), "/")
}
