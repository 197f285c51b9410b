package format

import (
	"bytes"
	"fmt"

	"wrenn.dev/wrenn/lang"
)

// Source formats the Wrennfile src (named name in diagnostics) in the
// canonical layout of docs/fmt.md. A file with parse errors is returned as
// a *lang.Error and never reformatted: guessing at a broken file's
// structure could move text between instructions.
//
// The output always means what the input meant (see Meaning). Each
// instruction is first printed in the full canonical layout; if re-parsing
// shows that this changed what the parser reads from it (a continuation
// line whose leading blanks are part of a command, say), that instruction
// is printed again keeping more of its original text, down to exactly as
// written. An error other than *lang.Error means that even that failed,
// which is a bug in this package or in lang.
func Source(name string, src []byte) ([]byte, error) {
	f, diags := lang.Parse(name, src)
	if diags.HasErrors() {
		return nil, &lang.Error{Diagnostics: diags.Errors()}
	}
	out, relaxed, err := once(f)
	// Where an instruction had to keep its own text, formatting the result
	// again may tidy a little more; go to the fixed point (in practice one
	// extra pass) so that fmt is idempotent. A file printed fully canonical
	// is one already.
	for range 3 {
		if err != nil {
			return nil, err
		}
		if !relaxed {
			break
		}
		g, gdiags := lang.Parse(name, out)
		if gdiags.HasErrors() {
			break // cannot happen: once checked that out parses
		}
		next, nrelaxed, nerr := once(g)
		if nerr != nil || bytes.Equal(next, out) {
			break
		}
		out, relaxed, err = next, nrelaxed, nil
	}
	return out, nil
}

// once formats a parsed file in one pass, relaxing instructions until the
// output means what the input meant; relaxed says whether any had to be.
func once(f *lang.File) (out []byte, relaxed bool, err error) {
	want := MeaningOf(f)
	p := newPrinter(f)
	for round := 0; ; round++ {
		out, spans := p.print()
		g, gdiags := lang.Parse(f.Name, out)
		if !gdiags.HasErrors() && MeaningOf(g).Equal(want) {
			return out, round > 0, nil
		}
		if !p.relax(want, g, gdiags, spans) {
			return nil, true, fmt.Errorf("%s: formatting would change the file's meaning; this is a bug in wrenn fmt, please report it with the file", f.Name)
		}
	}
}

// mode says how much of an instruction's original text is kept.
type mode int

const (
	// The zero mode: keyword, flags and continuation indentation all
	// canonical.
	_ mode = iota
	// modeKeepBody: as canonical, but shell bodies byte for byte.
	modeKeepBody
	// modeKeepArgs: only the keyword upper-cased, the indentation before it
	// and blanks at line ends removed.
	modeKeepArgs
	// modeKeepLines: as modeKeepArgs, but blanks at line ends kept.
	modeKeepLines
	// modeAsWritten: the instruction's lines exactly as written.
	modeAsWritten
)

// printer lays out one parsed file; modes may be relaxed between prints.
type printer struct {
	f      *lang.File
	src    []byte
	instrs []lang.Instruction // source order, FROMs included
	modes  []mode
	// keepComments prints comment lines as written (not trimmed).
	keepComments bool
	// keepEOF leaves out the final newline when the source has none: a
	// last line ending in a backslash reads differently with one.
	keepEOF bool
}

func newPrinter(f *lang.File) *printer {
	ins := instructions(f)
	src := f.Source
	// A last line ending in a backslash and no newline: adding the final
	// newline would make it a continuation of nothing.
	lastLine := src[bytes.LastIndexByte(src, '\n')+1:]
	keepEOF := len(lastLine) > 0 && bytes.HasSuffix(bytes.TrimRight(lastLine, " \t\r"), []byte("\\"))
	return &printer{f: f, src: src, instrs: ins, modes: make([]mode, len(ins)), keepEOF: keepEOF}
}

// span is where an instruction landed in the output.
type span struct{ start, end int }

// print lays the whole file out and returns where each instruction went.
func (p *printer) print() ([]byte, []span) {
	var w lineWriter
	spans := make([]span, len(p.instrs))
	src := p.src
	next := 0
	for pos := 0; pos < len(src); {
		lineEnd := bytes.IndexByte(src[pos:], '\n')
		if lineEnd < 0 {
			lineEnd = len(src)
		} else {
			lineEnd += pos
		}
		if next < len(p.instrs) && instrStart(p.instrs[next]) <= lineEnd {
			n := p.instrs[next].Node()
			text := p.render(next)
			end := n.Range.End.Offset
			// Whatever follows the instruction on its last line should be
			// blanks only; anything else is kept rather than lost.
			tailEnd := bytes.IndexByte(src[end:], '\n')
			if tailEnd < 0 {
				tailEnd = len(src)
			} else {
				tailEnd += end
			}
			if tail := src[end:tailEnd]; len(bytes.TrimSpace(tail)) > 0 {
				text += string(tail)
			}
			start := w.emit(text)
			spans[next] = span{start, w.buf.Len()}
			next++
			pos = tailEnd + 1
			continue
		}
		line := src[pos:lineEnd]
		trimmed := bytes.TrimSpace(line)
		switch {
		case len(trimmed) == 0:
			w.blank()
		case trimmed[0] == '#' && !p.keepComments:
			w.emit(string(trimmed))
		default:
			w.emit(string(line))
		}
		pos = lineEnd + 1
	}
	out := w.buf.Bytes()
	if p.keepEOF && len(src) > 0 && src[len(src)-1] != '\n' && len(out) > 0 {
		out = out[:len(out)-1]
	}
	return out, spans
}

// instrStart is the offset of an instruction's first byte.
func instrStart(in lang.Instruction) int {
	n := in.Node()
	return min(n.Range.Start.Offset, n.KeywordRange.Start.Offset)
}

// lineWriter writes output lines, dropping blank lines at the start and
// end and folding runs of them into one.
type lineWriter struct {
	buf          bytes.Buffer
	pendingBlank bool
}

func (w *lineWriter) blank() { w.pendingBlank = true }

// emit writes s and a newline, after one blank line if any were pending;
// it returns the offset s starts at.
func (w *lineWriter) emit(s string) int {
	if w.pendingBlank && w.buf.Len() > 0 {
		w.buf.WriteByte('\n')
	}
	w.pendingBlank = false
	start := w.buf.Len()
	w.buf.WriteString(s)
	w.buf.WriteByte('\n')
	return start
}

// relax keeps more original text where the last print changed meaning:
// instructions that now read differently, or that a new parse error points
// into, move one mode further towards as-written; changed comments are kept
// as written. It reports false when nothing is left to relax.
func (p *printer) relax(want Meaning, got *lang.File, diags lang.Diagnostics, spans []span) bool {
	var bad []int
	if diags.HasErrors() {
		for _, d := range diags.Errors() {
			for i, sp := range spans {
				if sp.start <= d.Range.Start.Offset && d.Range.Start.Offset < sp.end {
					bad = append(bad, i)
				}
			}
		}
	} else {
		m := MeaningOf(got)
		if m.File != want.File && !p.keepComments {
			p.keepComments = true
			return true
		}
		if len(m.Instructions) == len(want.Instructions) {
			for i := range want.Instructions {
				if m.Instructions[i] != want.Instructions[i] {
					bad = append(bad, i)
				}
			}
		}
	}
	if len(bad) == 0 { // not located: relax everything that still can be
		for i := range p.modes {
			bad = append(bad, i)
		}
	}
	changed := false
	for _, i := range bad {
		if p.modes[i] < modeAsWritten {
			p.modes[i]++
			changed = true
		}
	}
	if !changed && !p.keepComments {
		p.keepComments = true
		changed = true
	}
	if !changed && !p.keepEOF {
		p.keepEOF = true
		changed = true
	}
	return changed
}
