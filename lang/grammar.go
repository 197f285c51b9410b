package lang

import (
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The grammar is deliberately loose, as BuildKit's is: an instruction is a
// keyword, leading --flags and the rest of the line. Everything an
// instruction means is decided while lowering, where a problem can be
// reported precisely and parsing can go on. These structs never leave the
// package.
type gFile struct {
	Instrs []*gInstr `parser:"@@*"`
}

// Keyword and Rest are captured as whole tokens: their Pos.Line is the
// index of the logical instruction + 1 and Pos.Offset the byte index in its
// joined text. Flags are consecutive after the keyword, so lowering finds
// their offsets by skipping blanks; capturing them as strings keeps the
// grammar cheap. The scanner ends every instruction with an EOL token.
type gInstr struct {
	Keyword lexer.Token  `parser:"@Keyword"`
	Flags   []string     `parser:"@Flag*"`
	Rest    *lexer.Token `parser:"@Rest? EOL"`
}

const (
	tokKeyword lexer.TokenType = -(iota + 2)
	tokFlag
	tokRest
	tokEOL
)

// lineLexer feeds participle the tokens of already-scanned logical
// instructions, so the source is read once, by the scanner.
type lineLexer struct {
	lines []*logical
	i     int // logical instruction
	pos   int // byte in its text
	state int // 0 keyword, 1 flags, 2 rest, 3 eol
}

type lineDefinition struct{}

var lineSymbols = map[string]lexer.TokenType{
	"EOF": lexer.EOF, "Keyword": tokKeyword, "Flag": tokFlag, "Rest": tokRest, "EOL": tokEOL,
}

func (lineDefinition) Symbols() map[string]lexer.TokenType { return lineSymbols }

// Lex is never used: the scanner feeds the grammar (see parseLinesGrammar).
func (lineDefinition) Lex(string, io.Reader) (lexer.Lexer, error) {
	return nil, errors.New("lang: the line grammar reads scanned instructions, not text")
}

// flagKinds are the instructions whose leading --words are flags. ENV and
// ARG take none (their whole argument is one assignment), nor does START:
// for the seed `START --x` is a command, and that meaning is kept. WORKDIR takes
// --no-cache: a seed path starting with "--" made `mkdir -p` fail, so no
// working recipe changes meaning.
var flagKinds = map[Kind]bool{KindRun: true, KindCopy: true, KindHealthcheck: true, KindUser: true, KindFrom: true, KindWorkdir: true}

func (lx *lineLexer) Next() (lexer.Token, error) {
	for lx.i < len(lx.lines) {
		l := lx.lines[lx.i]
		t := l.text
		for lx.pos < len(t) && isSpace(t[lx.pos]) {
			lx.pos++
		}
		tok := lexer.Token{Pos: lexer.Position{Line: lx.i + 1, Offset: lx.pos}}
		switch lx.state {
		case 0:
			end := wordEnd(t, lx.pos)
			tok.Type, tok.Value = tokKeyword, t[lx.pos:end]
			lx.pos = end
			lx.state = 2
			if flagKinds[Kind(strings.ToUpper(tok.Value))] {
				lx.state = 1
			}
			return tok, nil
		case 1:
			if strings.HasPrefix(t[lx.pos:], "--") {
				end := wordEnd(t, lx.pos)
				tok.Type, tok.Value = tokFlag, t[lx.pos:end]
				lx.pos = end
				return tok, nil
			}
			lx.state = 2
		case 2:
			lx.state = 3
			if lx.pos < len(t) {
				tok.Type, tok.Value = tokRest, t[lx.pos:]
				lx.pos = len(t)
				return tok, nil
			}
		case 3:
			tok.Type = tokEOL
			lx.i, lx.pos, lx.state = lx.i+1, 0, 0
			return tok, nil
		}
	}
	return lexer.Token{Type: lexer.EOF}, nil
}

func wordEnd(t string, i int) int {
	for i < len(t) && !isSpace(t[i]) {
		i++
	}
	return i
}

// grammar is built once, on first use: building it walks the structs by
// reflection, which costs more than parsing a large file.
var grammar = sync.OnceValue(func() *participle.Parser[gFile] {
	return participle.MustBuild[gFile](
		participle.Lexer(lineDefinition{}),
		participle.UseLookahead(1),
	)
})

// parseLines recognizes the token stream of the scanned instructions. It
// builds exactly what the participle grammar builds (gFile), by hand: the
// grammar costs about 35 allocations per instruction (BenchmarkGrammar),
// more than everything else in Parse together, while this loop costs two.
// The participle grammar stays the definition: TestGrammarAgrees and
// FuzzParse check that both produce the same gFile.
func parseLines(lines []*logical) (*gFile, error) {
	lx := &lineLexer{lines: lines}
	g := &gFile{Instrs: make([]*gInstr, 0, len(lines))}
	slab := make([]gInstr, len(lines))
	for {
		tok, _ := lx.Next()
		if tok.Type == lexer.EOF {
			return g, nil
		}
		if tok.Type != tokKeyword {
			return nil, errUnexpected
		}
		in := &slab[len(g.Instrs)]
		in.Keyword = tok
		for {
			tok, _ = lx.Next()
			if tok.Type != tokFlag {
				break
			}
			in.Flags = append(in.Flags, tok.Value)
		}
		if tok.Type == tokRest {
			rest := tok
			in.Rest = &rest
			tok, _ = lx.Next()
		}
		if tok.Type != tokEOL {
			return nil, errUnexpected
		}
		g.Instrs = append(g.Instrs, in)
	}
}

var errUnexpected = errors.New("unexpected token")

// parseLinesGrammar runs the participle grammar over the same tokens.
func parseLinesGrammar(lines []*logical) (*gFile, error) {
	plx, err := lexer.Upgrade(&lineLexer{lines: lines})
	if err != nil {
		return nil, err
	}
	return grammar().ParseFromLexer(plx)
}
