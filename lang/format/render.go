package format

import (
	"slices"
	"strings"

	"wrenn.dev/wrenn/lang"
)

// continuationIndent starts every continuation line (docs/fmt.md).
const continuationIndent = "    "

// render prints instruction i in its current mode.
func (p *printer) render(i int) string {
	in := p.instrs[i]
	n := in.Node()
	src := string(p.src)
	kwEnd, end := n.KeywordRange.End.Offset, n.Range.End.Offset
	if !(0 <= instrStart(in) && instrStart(in) <= kwEnd && kwEnd <= end && end <= len(src)) {
		return src[lineStart(src, instrStart(in)):max(end, instrStart(in))]
	}
	switch p.modes[i] {
	case modeAsWritten:
		return src[lineStart(src, instrStart(in)):end]
	case modeKeepLines:
		return string(n.Kind) + src[kwEnd:end]
	case modeKeepArgs:
		return trimLineEnds(string(n.Kind) + src[kwEnd:end])
	}
	keepBody := p.modes[i] == modeKeepBody
	restStart, shell, ok := argStart(in)
	if !ok || restStart < kwEnd || restStart > end {
		return string(n.Kind) + src[kwEnd:end]
	}
	gap, ok := scanGap(src, n, kwEnd, restStart)
	if !ok {
		return string(n.Kind) + src[kwEnd:end]
	}

	var b strings.Builder
	b.WriteString(string(n.Kind))
	for _, f := range sortFlags(n.Kind, n.Flags) {
		b.WriteByte(' ')
		b.WriteString(src[f.Range.Start.Offset:f.Range.End.Offset])
	}
	if gap.cmd {
		if gap.cmdContinued {
			b.WriteString(" \\\n" + continuationIndent + "CMD")
		} else {
			b.WriteString(" CMD")
		}
	}
	if restStart == end {
		return b.String()
	}
	if gap.continued {
		b.WriteString(" \\\n" + continuationIndent)
	} else {
		b.WriteByte(' ')
	}
	if words, ok := wordArgs(src, in, restStart, end); ok {
		b.WriteString(words)
		return b.String()
	}
	verbatim := shell && keepBody
	for li, line := range strings.Split(src[restStart:end], "\n") {
		if li > 0 {
			if !verbatim && strings.TrimSpace(line) == "" {
				continue // a blank line inside a continued instruction
			}
			b.WriteByte('\n')
			if !verbatim {
				line = strings.TrimLeft(line, " \t")
				if line != "" && strings.TrimRight(line, " \t\r") != "" {
					line = continuationIndent + line
				}
			}
		}
		if !verbatim {
			line = strings.TrimRight(line, " \t\r")
		}
		b.WriteString(line)
	}
	return b.String()
}

// argStart returns where an instruction's arguments begin, and whether
// they are a shell body.
func argStart(in lang.Instruction) (offset int, shell, ok bool) {
	switch x := in.(type) {
	case *lang.RunInstr:
		return x.Cmd.Range.Start.Offset, true, true
	case *lang.StartInstr:
		return x.Cmd.Range.Start.Offset, true, true
	case *lang.HealthcheckInstr:
		return x.Cmd.Range.Start.Offset, true, true
	case *lang.FromInstr:
		return x.Base.Range.Start.Offset, false, true
	case *lang.ArgInstr:
		return x.Name.Range.Start.Offset, false, true
	case *lang.EnvInstr:
		return x.Key.Range.Start.Offset, false, true
	case *lang.WorkdirInstr:
		return x.Path.Range.Start.Offset, false, true
	case *lang.UserInstr:
		return x.Name.Range.Start.Offset, false, true
	case *lang.CopyInstr:
		if len(x.Sources) > 0 {
			return x.Sources[0].Range.Start.Offset, false, true
		}
		return x.Dest.Range.Start.Offset, false, true
	}
	return 0, false, false
}

// gapInfo describes the text between the keyword and the arguments once
// the flags are taken out.
type gapInfo struct {
	cmd          bool // HEALTHCHECK's optional CMD word
	cmdContinued bool // CMD starts a continuation line
	continued    bool // the arguments start on a continuation line
}

// scanGap checks that nothing but flags, blanks, line continuations and
// (for HEALTHCHECK) the CMD word lies between the keyword and the
// arguments; anything else (a comment line, say) makes the instruction
// keep its own layout.
func scanGap(src string, n *lang.InstrNode, from, to int) (gapInfo, bool) {
	var g gapInfo
	flags := slices.Clone(n.Flags)
	slices.SortFunc(flags, func(a, b *lang.Flag) int { return a.Range.Start.Offset - b.Range.Start.Offset })
	var rest strings.Builder
	cur := from
	for _, f := range flags {
		s, e := f.Range.Start.Offset, f.Range.End.Offset
		if s < cur || e > to || strings.ContainsAny(src[s:e], "\n\\") {
			return g, false
		}
		rest.WriteString(src[cur:s])
		rest.WriteByte(flagMark)
		cur = e
	}
	rest.WriteString(src[cur:to])
	t := rest.String()
	for i := 0; i < len(t); {
		switch c := t[i]; {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == flagMark:
			g.continued = false
			i++
		case c == '\\':
			j := i + 1
			for j < len(t) && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r') {
				j++
			}
			if j >= len(t) || t[j] != '\n' {
				return g, false
			}
			g.continued = true
			i = j + 1
		case n.Kind == lang.KindHealthcheck && !g.cmd && len(t)-i >= 3 && strings.EqualFold(t[i:i+3], "CMD") &&
			(len(t)-i == 3 || strings.IndexByte(" \t\r\\", t[i+3]) >= 0):
			g.cmd = true
			g.cmdContinued = g.continued
			g.continued = false
			i += 3
		default:
			return g, false
		}
	}
	return g, true
}

// flagMark stands for a flag taken out of the gap (never valid source).
const flagMark = 0

// lineStart returns the offset of the start of the line holding off.
func lineStart(src string, off int) int {
	off = min(max(off, 0), len(src))
	return strings.LastIndexByte(src[:off], '\n') + 1
}

// trimLineEnds removes blanks at the end of every line of s.
func trimLineEnds(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return strings.Join(lines, "\n")
}

// wordArgs prints the arguments of FROM and COPY, which are separate
// words, with one space between them and FROM's AS in upper case. It
// applies only to arguments on one line with nothing but blanks between
// the words.
func wordArgs(src string, in lang.Instruction, start, end int) (string, bool) {
	var words []lang.Word
	var as string
	switch x := in.(type) {
	case *lang.FromInstr:
		words = []lang.Word{x.Base}
		if x.Name != nil {
			words = append(words, *x.Name)
			as = "AS"
		}
	case *lang.CopyInstr:
		words = append(append(words, x.Sources...), x.Dest)
	default:
		return "", false
	}
	if strings.ContainsAny(src[start:end], "\n\\") {
		return "", false
	}
	var parts []string
	cur := start
	for i, w := range words {
		s, e := w.Range.Start.Offset, w.Range.End.Offset
		if s < cur || e > end || s > e {
			return "", false
		}
		gap := strings.TrimSpace(src[cur:s])
		if i == 1 && as != "" {
			if !strings.EqualFold(gap, "as") {
				return "", false
			}
			parts = append(parts, as)
		} else if gap != "" {
			return "", false
		}
		parts = append(parts, src[s:e])
		cur = e
	}
	if strings.TrimSpace(src[cur:end]) != "" {
		return "", false
	}
	return strings.Join(parts, " "), true
}
