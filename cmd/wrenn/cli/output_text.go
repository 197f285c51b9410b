package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"wrenn.dev/wrenn/lang"
)

// ANSI styles of the text format. Only these few are used so the output
// reads well on both dark and light terminals.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[1;33m"
	ansiCyan   = "\x1b[1;36m"
	ansiBlue   = "\x1b[34m"
)

// writeText prints diagnostics for people, one block per diagnostic:
//
//	Wrennfile:3:1: error: unknown instruction "RUNN" [unknown-instruction]
//	 3 | RUNN echo hi
//	   | ^^^^
//	   = did you mean "RUN"?
//
// The first line is the `file:line:col: severity: message [code]` form that
// editors' error parsers (Vim's errorformat, VS Code problem matchers)
// already understand; the excerpt underlines the range (only its first line
// when it spans several); the detail and related places follow after "=".
func writeText(w io.Writer, r *diagReport, color bool) error {
	bw := bufio.NewWriter(w)
	p := textPrinter{w: bw, color: color}
	for i := range r.Diagnostics {
		p.diagnostic(&r.Diagnostics[i], r.Sources[r.Diagnostics[i].Range.File])
	}
	return bw.Flush()
}

type textPrinter struct {
	w     *bufio.Writer
	color bool
}

// style wraps s in an ANSI style when colour is on.
func (p *textPrinter) style(code, s string) string {
	if !p.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func severityStyle(s lang.Severity) string {
	switch s {
	case lang.SeverityError:
		return ansiRed
	case lang.SeverityWarning:
		return ansiYellow
	}
	return ansiCyan
}

func (p *textPrinter) diagnostic(d *lang.Diagnostic, src []byte) {
	sev := severityStyle(d.Severity)
	fmt.Fprintf(p.w, "%s %s %s", p.style(ansiBold, location(d.Range)+":"), p.style(sev, d.Severity.String()+":"), p.style(ansiBold, d.Message))
	if d.Code != "" {
		fmt.Fprintf(p.w, " %s", p.style(ansiDim, "["+d.Code+"]"))
	}
	p.w.WriteByte('\n')

	gutter := len(strconv.Itoa(d.Range.Start.Line))
	if ex, ok := excerptOf(src, d.Range); ok {
		pad := strings.Repeat(" ", gutter)
		fmt.Fprintf(p.w, " %s %s %s\n", p.style(ansiBlue, strconv.Itoa(d.Range.Start.Line)), p.style(ansiBlue, "|"), ex.line)
		fmt.Fprintf(p.w, " %s %s %s%s\n", pad, p.style(ansiBlue, "|"), ex.indent, p.style(sev, ex.marker))
	}
	note := func(text string) {
		for i, l := range strings.Split(text, "\n") {
			mark := "="
			if i > 0 {
				mark = " "
			}
			fmt.Fprintf(p.w, " %s %s %s\n", strings.Repeat(" ", gutter), p.style(ansiBlue, mark), l)
		}
	}
	if d.Detail != "" {
		note(d.Detail)
	}
	for _, rel := range d.Related {
		note(location(rel.Range) + ": " + rel.Message)
	}
}

// location is "file:line:col", or just "file" for a diagnostic about the
// whole file (no line).
func location(r lang.Range) string {
	name := r.File
	if name == "" {
		name = "<unknown>"
	}
	if r.Start.Line <= 0 {
		return name
	}
	return fmt.Sprintf("%s:%d:%d", name, r.Start.Line, r.Start.Column)
}

// excerpt is one source line and the marker line under it.
type excerpt struct {
	line   string // the source line, without its newline
	indent string // whitespace up to the range, tabs kept so it lines up
	marker string // "^" under every character of the range on this line
}

// excerptOf finds the first source line of r in src. It trusts the byte
// offset (exact by contract) and falls back to the line number when the
// offset does not fit src.
func excerptOf(src []byte, r lang.Range) (excerpt, bool) {
	if src == nil || r.Start.Line <= 0 {
		return excerpt{}, false
	}
	start := r.Start.Offset
	if start < 0 || start > len(src) {
		var ok bool
		if start, ok = lineOffset(src, r.Start.Line); !ok {
			return excerpt{}, false
		}
		start += max(r.Start.Column-1, 0)
		start = min(start, len(src))
	}
	lineStart := bytes.LastIndexByte(src[:start], '\n') + 1
	lineEnd := len(src)
	if i := bytes.IndexByte(src[lineStart:], '\n'); i >= 0 {
		lineEnd = lineStart + i
	}
	if lineEnd > lineStart && src[lineEnd-1] == '\r' {
		lineEnd--
	}
	start = min(start, lineEnd)
	end := r.End.Offset
	if end < start || end > lineEnd {
		end = lineEnd
	}
	var indent strings.Builder
	for _, c := range string(src[lineStart:start]) {
		if c == '\t' {
			indent.WriteByte('\t')
		} else {
			indent.WriteByte(' ')
		}
	}
	n := max(utf8.RuneCount(src[start:end]), 1)
	// One U+FFFD per invalid byte keeps the marker under the right column.
	var line strings.Builder
	for _, c := range string(src[lineStart:lineEnd]) {
		line.WriteRune(c)
	}
	return excerpt{line: line.String(), indent: indent.String(), marker: strings.Repeat("^", n)}, true
}

// lineOffset returns the byte offset at which 1-based line n starts.
func lineOffset(src []byte, n int) (int, bool) {
	off := 0
	for line := 1; line < n; line++ {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			return 0, false
		}
		off += i + 1
	}
	return off, true
}
