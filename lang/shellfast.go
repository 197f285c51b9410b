package lang

import "mvdan.cc/sh/v3/syntax"

// simpleShell parses the common shape of a RUN body without the general
// shell parser: commands of plain words, with `>`, `>>` and `<`
// redirections, joined by `|`, `&&`, `||` and `;`, all on one line, e.g.
// `mkdir -p /opt/app && echo ok > /opt/app/stamp`. It builds exactly the
// tree mvdan.cc/sh's POSIX parser builds for such a body (positions
// included), so lint rules and the language server cannot tell the two
// apart; anything else (quotes, `$`, globs, comments, keywords,
// assignments, fd numbers, newlines, a syntax error) returns false and the
// caller uses the full parser. TestSimpleShellMatchesParser checks the
// trees over every body in the test corpora, and FuzzSimpleShell over
// generated ones.
//
// It exists for speed: the full parser was about 40% of Parse on a
// 1,000-step file, and most bodies are this simple.
func simpleShell(text string) (*syntax.File, bool) { return simpleShellIn(text, nil) }

// simpleShellIn is simpleShell taking its nodes from a (nil: each its own
// allocation).
func simpleShellIn(text string, a *shellArena) (*syntax.File, bool) {
	if len(text) > maxSimpleShell {
		return nil, false
	}
	s := shellScanner{src: text, a: a}
	fa := take(s.aFiles())
	f := &fa.file
	f.Stmts = fa.stmts[:0]
	for {
		s.space()
		if s.i == len(s.src) {
			break
		}
		st, ok := s.andOr()
		if !ok {
			return nil, false
		}
		f.Stmts = append(f.Stmts, st)
		s.space()
		if s.i == len(s.src) {
			break
		}
		if s.src[s.i] != ';' || (s.i+1 < len(s.src) && s.src[s.i+1] == ';') {
			return nil, false
		}
		st.Semicolon = s.pos(s.i)
		s.i++
	}
	if len(f.Stmts) == 0 {
		return nil, false
	}
	return f, true
}

// maxSimpleShell keeps columns below syntax.Pos's 14-bit limit, where the
// parser's positions saturate.
const maxSimpleShell = 16000

type shellScanner struct {
	src string
	i   int
	a   *shellArena
}

// shellArena hands out the nodes of many simple bodies from shared slabs:
// a parse of a 1,000-step file makes a few dozen allocations for its
// shell trees rather than one or more per node. Trees keep their slab
// alive, as they keep the parse's other nodes.
type shellArena struct {
	files  []fileAlloc
	words  []wordAlloc
	cmds   []cmdAlloc
	bins   []binAlloc
	redirs []syntax.Redirect
}

// arenaSlab is how many nodes of a kind one slab holds.
const arenaSlab = 64

// take returns the next zeroed element of *slab, allocating a new slab
// when it is full; with a nil slab pointer (no arena) a fresh element.
func take[T any](slab *[]T) *T {
	if slab == nil {
		return new(T)
	}
	if len(*slab) == cap(*slab) {
		*slab = make([]T, 0, arenaSlab)
	}
	*slab = (*slab)[:len(*slab)+1]
	return &(*slab)[len(*slab)-1]
}

func (s *shellScanner) aFiles() *[]fileAlloc {
	if s.a == nil {
		return nil
	}
	return &s.a.files
}

func (s *shellScanner) aWords() *[]wordAlloc {
	if s.a == nil {
		return nil
	}
	return &s.a.words
}

func (s *shellScanner) aCmds() *[]cmdAlloc {
	if s.a == nil {
		return nil
	}
	return &s.a.cmds
}

func (s *shellScanner) aBins() *[]binAlloc {
	if s.a == nil {
		return nil
	}
	return &s.a.bins
}

func (s *shellScanner) aRedirs() *[]syntax.Redirect {
	if s.a == nil {
		return nil
	}
	return &s.a.redirs
}

// pos is the position of byte offset off on the body's only line.
func (s *shellScanner) pos(off int) syntax.Pos { return syntax.NewPos(uint(off), 1, uint(off)+1) }

func (s *shellScanner) space() {
	for s.i < len(s.src) && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// plainByte reports whether c is literal in a word wherever it stands.
func plainByte(c byte) bool { return plainBytes[c] }

var plainBytes = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "_-./:,+@%^=" {
		t[c] = true
	}
	return t
}()

// reserved are the words that mean something else at the start of a
// command in some shell mvdan.cc/sh knows, plus the declaration builtins
// it may parse specially: the fast path leaves them to the full parser.
var reserved = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "fi": true, "do": true, "done": true,
	"case": true, "esac": true, "while": true, "until": true, "for": true, "in": true,
	"function": true, "select": true, "time": true, "coproc": true, "export": true,
	"readonly": true, "local": true, "declare": true, "typeset": true, "nameref": true, "let": true,
}

// fileAlloc, wordAlloc, cmdAlloc and binAlloc put the nodes of a body
// with up to two statements, a word, a command with up to four words, and
// a binary command, in one allocation (or arena slot) each.
type fileAlloc struct {
	file  syntax.File
	stmts [2]*syntax.Stmt
}

type binAlloc struct {
	stmt syntax.Stmt
	bin  syntax.BinaryCmd
}

type wordAlloc struct {
	word  syntax.Word
	lit   syntax.Lit
	parts [1]syntax.WordPart
}

type cmdAlloc struct {
	stmt syntax.Stmt
	call syntax.CallExpr
	args [4]*syntax.Word
}

// word reads a plain word at s.i.
func (s *shellScanner) word() (*syntax.Word, bool) {
	start := s.i
	for s.i < len(s.src) && plainByte(s.src[s.i]) {
		s.i++
	}
	if s.i == start {
		return nil, false
	}
	// A word must end at a space or an operator, not inside a token the
	// fast path does not read (quotes, $, globs, #, …).
	if s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', ';', '&', '|', '>', '<':
		default:
			return nil, false
		}
	}
	a := take(s.aWords())
	a.lit = syntax.Lit{ValuePos: s.pos(start), ValueEnd: s.pos(s.i), Value: s.src[start:s.i]}
	a.parts[0] = &a.lit
	a.word.Parts = a.parts[:]
	return &a.word, true
}

// command reads one simple command: words and redirections.
func (s *shellScanner) command() (*syntax.Stmt, bool) {
	s.space()
	start := s.i
	first, ok := s.word()
	if !ok || reserved[first.Lit()] || containsByte(first.Lit(), '=') {
		return nil, false
	}
	a := take(s.aCmds())
	call, st := &a.call, &a.stmt
	call.Args = append(a.args[:0], first)
	st.Cmd, st.Position = call, s.pos(start)
	for {
		before := s.i
		s.space()
		if s.i == len(s.src) {
			return st, true
		}
		switch c := s.src[s.i]; c {
		case ';', '&', '|':
			return st, true
		case '>', '<':
			if s.i == before {
				return nil, false // `a>b` or `2>b`: an fd number is possible
			}
			op, n := syntax.RdrOut, 1
			if c == '<' {
				op = syntax.RdrIn
			} else if s.i+1 < len(s.src) && s.src[s.i+1] == '>' {
				op, n = syntax.AppOut, 2
			}
			if s.i+n < len(s.src) {
				switch s.src[s.i+n] {
				case '&', '|', '>', '<', '(':
					return nil, false // >&, >|, <<, <>, <(
				}
			}
			r := take(s.aRedirs())
			r.OpPos, r.Op = s.pos(s.i), op
			s.i += n
			s.space()
			if r.Word, ok = s.word(); !ok {
				return nil, false
			}
			st.Redirs = append(st.Redirs, r)
		default:
			if s.i == before {
				return nil, false
			}
			w, ok := s.word()
			if !ok {
				return nil, false
			}
			call.Args = append(call.Args, w)
		}
	}
}

// pipeline reads commands joined by `|` (left-associative).
func (s *shellScanner) pipeline() (*syntax.Stmt, bool) {
	x, ok := s.command()
	if !ok {
		return nil, false
	}
	for s.i < len(s.src) && s.src[s.i] == '|' && (s.i+1 == len(s.src) || (s.src[s.i+1] != '|' && s.src[s.i+1] != '&')) {
		opPos := s.pos(s.i)
		s.i++
		y, ok := s.command()
		if !ok {
			return nil, false
		}
		x = s.binary(opPos, syntax.Pipe, x, y)
	}
	return x, true
}

// andOr reads pipelines joined by `&&` and `||` (left-associative).
func (s *shellScanner) andOr() (*syntax.Stmt, bool) {
	x, ok := s.pipeline()
	if !ok {
		return nil, false
	}
	for s.i+1 < len(s.src) {
		var op syntax.BinCmdOperator
		switch s.src[s.i : s.i+2] {
		case "&&":
			op = syntax.AndStmt
		case "||":
			op = syntax.OrStmt
		default:
			if s.src[s.i] == '&' {
				return nil, false // background
			}
			return x, true
		}
		opPos := s.pos(s.i)
		s.i += 2
		y, ok := s.pipeline()
		if !ok {
			return nil, false
		}
		x = s.binary(opPos, op, x, y)
	}
	if s.i < len(s.src) && s.src[s.i] == '&' {
		return nil, false
	}
	return x, true
}

// binary is the statement `x op y`.
func (s *shellScanner) binary(opPos syntax.Pos, op syntax.BinCmdOperator, x, y *syntax.Stmt) *syntax.Stmt {
	a := take(s.aBins())
	a.bin = syntax.BinaryCmd{OpPos: opPos, Op: op, X: x, Y: y}
	a.stmt = syntax.Stmt{Cmd: &a.bin, Position: x.Position}
	return &a.stmt
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}
