package lang

import (
	"bytes"
	"strings"
)

// parser holds the state of one Parse call.
type parser struct {
	file   *File
	li     *LineIndex
	diags  Diagnostics
	sh     *shellParsers // from shellPool, taken on first use
	shells shellArena    // the simple bodies' trees
	stage  *Stage
}

func (p *parser) diag(sev Severity, code string, r Range, msg, detail string) {
	p.diags = append(p.diags, Diagnostic{Severity: sev, Code: code, Message: msg, Detail: detail, Range: r})
}

// Parse parses a Wrennfile. It always returns a *File holding every
// instruction it could lower, with all problems as sorted diagnostics.
func Parse(name string, src []byte) (*File, Diagnostics) {
	return parse(name, src, splitLines(src), true)
}

// ParseRecipe parses the seed's recipe form, a JSON list of lines: element
// N is line N and one whole instruction, so a trailing backslash is literal
// rather than a continuation. The elements are joined with newlines into
// File.Source; an element that itself holds a newline stays one
// instruction (the seed ran it as one), and the line numbers after it
// count that newline.
func ParseRecipe(name string, lines []string) (*File, Diagnostics) {
	src := []byte(strings.Join(lines, "\n"))
	spans := make([]physLine, 0, len(lines))
	off := 0
	for _, l := range lines {
		end := off + len(l)
		if end > off && src[end-1] == '\r' {
			end--
		}
		spans = append(spans, physLine{off, end})
		off += len(l) + 1
	}
	f, diags := parse(name, src, spans, false)
	f.Recipe = true
	return f, diags
}

func parse(name string, src []byte, lines []physLine, continues bool) (*File, Diagnostics) {
	p := &parser{file: &File{Name: name, Source: src}, li: NewLineIndex(name, src)}
	// Editors on some systems write a UTF-8 byte order mark; it is not part
	// of the first keyword (Docker skips it too).
	if len(lines) > 0 && bytes.HasPrefix(src[lines[0].start:lines[0].end], []byte("\xef\xbb\xbf")) {
		lines[0].start += 3
	}
	sc := &scanner{src: src, lines: lines, continues: continues, p: p}
	logicals := sc.scan()
	g, err := parseLines(logicals)
	if err != nil {
		// The token stream always fits the grammar; if it ever does not,
		// say so at the start of the file instead of showing participle's text.
		p.diag(SeverityError, CodeParse, p.li.Range(0, 0), "internal parser error", "please report this file as a bug")
	} else {
		for _, gi := range g.Instrs {
			p.lower(logicals[gi.Keyword.Pos.Line-1], gi)
		}
	}
	if p.sh != nil {
		shellPool.Put(p.sh)
	}
	if len(p.file.Stages) == 0 {
		p.file.Stages = []*Stage{{Range: p.li.Range(0, 0)}}
	}
	return p.file, p.diags.Sort()
}
