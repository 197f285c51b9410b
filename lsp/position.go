package lsp

import (
	"sort"
	"unicode/utf16"
	"unicode/utf8"

	"go.lsp.dev/protocol"

	"wrenn.dev/wrenn/lang"
)

// mapper converts between byte offsets (what lang reports) and LSP
// positions (0-based line, UTF-16 code units within the line).
type mapper struct {
	text  string
	lines []int // byte offset of each line start
}

func newMapper(text string) *mapper {
	m := &mapper{text: text, lines: []int{0}}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			m.lines = append(m.lines, i+1)
		}
	}
	return m
}

// position returns the LSP position of byte offset off (clamped to the text).
func (m *mapper) position(off int) protocol.Position {
	off = min(max(off, 0), len(m.text))
	line := sort.Search(len(m.lines), func(i int) bool { return m.lines[i] > off }) - 1
	col := 0
	for i := m.lines[line]; i < off; {
		r, size := utf8.DecodeRuneInString(m.text[i:])
		if i+size > off { // off inside a rune: count it whole
			size = off - i
		}
		col += utf16Len(r)
		i += size
	}
	return protocol.Position{Line: uint32(line), Character: uint32(col)}
}

// offset returns the byte offset of an LSP position. A character past the
// end of its line means the line's end; a line past the end, the text's end.
func (m *mapper) offset(p protocol.Position) int {
	if int(p.Line) >= len(m.lines) {
		return len(m.text)
	}
	i := m.lines[p.Line]
	for col := 0; i < len(m.text) && m.text[i] != '\n'; {
		r, size := utf8.DecodeRuneInString(m.text[i:])
		if col+utf16Len(r) > int(p.Character) {
			break
		}
		col += utf16Len(r)
		i += size
	}
	return i
}

// rangeOf converts a lang range (by its byte offsets) to an LSP range.
func (m *mapper) rangeOf(r lang.Range) protocol.Range {
	return m.span(r.Start.Offset, r.End.Offset)
}

// span converts the byte span [start, end) to an LSP range.
func (m *mapper) span(start, end int) protocol.Range {
	return protocol.Range{Start: m.position(start), End: m.position(max(start, end))}
}

// utf16Len is how many UTF-16 code units r takes; an invalid byte
// (RuneError) is one unit, as editors show it as U+FFFD.
func utf16Len(r rune) int {
	if n := utf16.RuneLen(r); n > 0 {
		return n
	}
	return 1
}
