package lang

import "strings"

// logical is one instruction after continuation lines are joined: the text
// the grammar sees and, for every byte of it, the source offset it came from.
type logical struct {
	text string
	// m holds len(text)+1 source offsets, m[len(text)] one past the last
	// byte; nil when text is one run of the source (no continuation),
	// starting at offset off.
	m   []int
	off int
	// line is the 1-based source line the instruction starts on.
	line int
	// suppress holds the codes of wrenn-ignore comments directly above.
	suppress []string
}

// span returns the source offsets [start, end) of text[a:b]. The end is
// one past the last byte, so a word at the end of a continued line does
// not stretch to the next line.
func (l *logical) span(a, b int) (int, int) {
	if l.m == nil {
		return l.off + a, l.off + max(a, b)
	}
	if b <= a {
		return l.m[a], l.m[a]
	}
	return l.m[a], l.m[b-1] + 1
}

// physLine is one source line without its newline (and without a '\r'
// before it).
type physLine struct{ start, end int }

// scanner splits a source into logical instructions, comments, directives
// and suppressions. It is a hand-written loop rather than grammar rules:
// continuation, comments inside continuations and the top-of-file directive
// block are line-level decisions that participle would only make slower.
type scanner struct {
	src       []byte
	lines     []physLine
	continues bool // false for ParseRecipe: each element is one instruction
	p         *parser
	// text is the source as a string, so a one-line instruction's text is
	// a substring of it; offsets is an arena for the offset maps of
	// continued instructions (others need none).
	text    string
	offsets []int
}

func splitLines(src []byte) []physLine {
	lines := make([]physLine, 0, len(src)/24+1)
	start := 0
	for i, c := range src {
		if c == '\n' {
			end := i
			if end > start && src[end-1] == '\r' {
				end--
			}
			lines = append(lines, physLine{start, end})
			start = i + 1
		}
	}
	if start < len(src) {
		end := len(src)
		if src[end-1] == '\r' {
			end--
		}
		lines = append(lines, physLine{start, end})
	}
	return lines
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// trimLeft returns the offset of the first non-blank byte in [s, e).
func trimLeft(src []byte, s, e int) int {
	for s < e && (isSpace(src[s]) || src[s] == '\r' || src[s] == '\f' || src[s] == '\v') {
		s++
	}
	return s
}

// trimRight returns the end of [s, e) without trailing blanks.
func trimRight(src []byte, s, e int) int {
	for e > s && (isSpace(src[e-1]) || src[e-1] == '\r' || src[e-1] == '\f' || src[e-1] == '\v') {
		e--
	}
	return e
}

func (sc *scanner) scan() []*logical {
	src := sc.src
	sc.text = string(src)
	sc.p.file.text = sc.text
	out := make([]*logical, 0, len(sc.lines))
	slab := make([]logical, len(sc.lines))
	header := true // still in the top-of-file directive block
	var suppress []string
	suppressLine := -2 // index of the last wrenn-ignore line
	for i := 0; i < len(sc.lines); i++ {
		ln := sc.lines[i]
		s := trimLeft(src, ln.start, ln.end)
		if s == ln.end {
			continue // blank line
		}
		if src[s] == '#' {
			e := trimRight(src, s, ln.end)
			sc.comment(s, e, header)
			if codes, ok := sc.suppression(s, e); ok {
				if suppressLine != i-1 {
					suppress = nil
				}
				suppress = append(suppress, codes...)
				suppressLine = i
			}
			continue
		}
		header = false
		l := &slab[len(out)]
		*l = logical{line: i + 1}
		if suppressLine == i-1 {
			l.suppress = suppress
		}
		suppress, suppressLine = nil, -2
		i = sc.join(l, i, s)
		if l.text != "" {
			out = append(out, l)
		}
	}
	return out
}

// join collects the instruction starting at line i (offset s), following
// continuation lines, and returns the index of its last line.
func (sc *scanner) join(l *logical, i, s int) int {
	src := sc.src
	var b []byte // joined text; nil while the instruction is one line
	first := -1  // start of the only segment while b is nil
	var firstEnd int
	var m []int // offsets, once there is more than one segment
	last := s
	for {
		ln := sc.lines[i]
		e := trimRight(src, s, ln.end)
		cont := sc.continues && e > s && src[e-1] == '\\'
		if cont {
			e--
		}
		switch {
		case first < 0 && b == nil:
			first, firstEnd = s, e
		case b == nil:
			b = append(append(make([]byte, 0, 2*(firstEnd-first+e-s)), src[first:firstEnd]...), src[s:e]...)
			if cap(sc.offsets)-len(sc.offsets) < 256 {
				sc.offsets = make([]int, 0, 4096) // a longer m gets its own array
			}
			m = sc.offsets[len(sc.offsets):]
			for k := first; k < firstEnd; k++ {
				m = append(m, k)
			}
			for k := s; k < e; k++ {
				m = append(m, k)
			}
		default:
			b = append(b, src[s:e]...)
			for k := s; k < e; k++ {
				m = append(m, k)
			}
		}
		if e > s {
			last = e
		}
		if !cont {
			break
		}
		// Continue: skip comment and blank lines, as Docker does.
		next := i + 1
		for next < len(sc.lines) {
			nl := sc.lines[next]
			ns := trimLeft(src, nl.start, nl.end)
			if ns == nl.end {
				next++
				continue
			}
			if src[ns] == '#' {
				sc.comment(ns, trimRight(src, ns, nl.end), false)
				next++
				continue
			}
			break
		}
		if next >= len(sc.lines) {
			break
		}
		i = next
		s = sc.lines[i].start
	}
	var text string
	if b == nil {
		text = sc.text[first:firstEnd]
	} else {
		text = string(b)
	}
	// Trailing blanks before a final backslash are not part of the instruction.
	n := len(text)
	for n > 0 && isSpace(text[n-1]) {
		n--
	}
	if b == nil {
		// One run of the source: offsets are first + i, no map.
		l.text, l.off = text[:n], first
		return i
	}
	if n < len(text) {
		text = text[:n]
		m = m[:n]
		if n > 0 {
			last = m[n-1] + 1
		}
	}
	l.text = text
	m = append(m, last)
	l.m = m[:len(m):len(m)]
	if len(sc.offsets)+len(m) <= cap(sc.offsets) {
		sc.offsets = sc.offsets[:len(sc.offsets)+len(m)]
	}
	return i
}

// comment records a comment line and, in the header, a directive.
func (sc *scanner) comment(s, e int, header bool) {
	text := string(sc.src[s:e])
	sc.p.file.Comments = append(sc.p.file.Comments, &Comment{Text: text, Range: sc.p.li.Range(s, e)})
	body := strings.TrimLeft(text[1:], " \t")
	if !strings.HasPrefix(body, directivePrefix) {
		return
	}
	if !header {
		sc.p.diag(SeverityWarning, CodeMisplacedDirective, sc.p.li.Range(s, e),
			"directive after the first instruction has no effect", "move it into the comment block at the top of the file")
		return
	}
	sc.p.directive(body[len(directivePrefix):], s, e)
}

const (
	directivePrefix   = "wrenn:"
	suppressionPrefix = "wrenn-ignore="
)

// suppression parses `# wrenn-ignore=code[,code…]`.
func (sc *scanner) suppression(s, e int) ([]string, bool) {
	body := strings.TrimLeft(string(sc.src[s+1:e]), " \t")
	if !strings.HasPrefix(body, suppressionPrefix) {
		return nil, false
	}
	var codes []string
	for c := range strings.SplitSeq(body[len(suppressionPrefix):], ",") {
		if c = strings.TrimSpace(c); c != "" {
			codes = append(codes, c)
		}
	}
	if len(codes) == 0 {
		sc.p.diag(SeverityWarning, CodeEmptySuppression, sc.p.li.Range(s, e), "wrenn-ignore names no code", "list codes separated by commas, or all")
		return nil, false
	}
	return codes, true
}
