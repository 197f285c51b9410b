package lang

import (
	"errors"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

// Syntax returns the body parsed as shell, as the parser checked it, so
// lint rules walk one tree instead of parsing again. It is nil when the body
// is not valid shell (the parser reported shell-syntax) or was not checked.
// Positions in the tree are byte offsets in Text: map them with SourceOffset.
func (s *Shell) Syntax() *syntax.File { return s.tree }

// Bash reports whether the body parses only as bash, not POSIX sh (the
// parser reported shell-bashism).
func (s *Shell) Bash() bool { return s.bash }

// shellParsers parse bodies: POSIX sh first, because the seed runs every
// body with /bin/sh -c (dash on Debian); bash second, to tell a bash-ism
// (a warning: it works where /bin/sh is bash) from a real syntax error.
type shellParsers struct{ posix, bash *syntax.Parser }

// shellPool reuses parsers across Parse calls: an editor parses on every
// keystroke, and a fresh syntax.Parser allocates its buffers again.
var shellPool = sync.Pool{New: func() any {
	return &shellParsers{
		posix: syntax.NewParser(syntax.Variant(syntax.LangPOSIX), syntax.KeepComments(false)),
		bash:  syntax.NewParser(syntax.Variant(syntax.LangBash)),
	}
}}

// noSimpleShell turns the fast path off (tests compare both paths).
var noSimpleShell bool

func (p *parser) checkShell(sh *Shell) {
	if strings.TrimSpace(sh.Text) == "" {
		return
	}
	if tree, ok := simpleShellIn(sh.Text, &p.shells); ok && !noSimpleShell {
		sh.tree = tree
		return
	}
	if p.sh == nil {
		p.sh = shellPool.Get().(*shellParsers)
	}
	tree, err := p.sh.posix.Parse(strings.NewReader(sh.Text), "")
	if err == nil {
		sh.tree = tree
		return
	}
	var lerr syntax.LangError
	if errors.As(err, &lerr) {
		if btree, berr := p.sh.bash.Parse(strings.NewReader(sh.Text), ""); berr == nil {
			sh.tree, sh.bash = btree, true
			msg := lerr.Feature
			if strings.HasSuffix(msg, "s") {
				msg += " are bash features"
			} else {
				msg += " is a bash feature"
			}
			p.diag(SeverityWarning, CodeShellBashism, p.shellRange(sh, int(lerr.Pos.Offset())),
				msg+" that /bin/sh may not support", "the body runs with /bin/sh -c; use POSIX sh, or run it with bash -c '…'")
			return
		}
	}
	var perr syntax.ParseError
	msg := err.Error()
	off := 0
	if errors.As(err, &perr) {
		msg, off = perr.Text, int(perr.Pos.Offset())
	} else if errors.As(err, &lerr) {
		msg, off = lerr.Feature+" is not supported by /bin/sh", int(lerr.Pos.Offset())
	}
	p.diag(SeverityError, CodeShellSyntax, p.shellRange(sh, off), "shell syntax: "+msg, "")
}

// shellRange is the one byte of the body at off (or the empty range at
// its end), in file coordinates.
func (p *parser) shellRange(sh *Shell, off int) Range {
	if off >= len(sh.Text) {
		end := sh.SourceOffset(len(sh.Text))
		return p.li.Range(end, end)
	}
	start := sh.SourceOffset(off)
	return p.li.Range(start, start+1)
}
