package lint

import (
	"strings"
	"time"

	"wrenn.dev/wrenn/lang"
)

// checkKeywordCasing: keywords are case-insensitive, so a file should pick
// one casing; the majority (upper case on a tie) wins.
func checkKeywordCasing(p *pass) {
	upper, lower := 0, 0
	for _, st := range p.steps {
		switch kw := st.node.Keyword; kw {
		case strings.ToUpper(kw):
			upper++
		case strings.ToLower(kw):
			lower++
		}
	}
	want, wantName := strings.ToUpper, "upper"
	if lower > upper {
		want, wantName = strings.ToLower, "lower"
	}
	for _, st := range p.steps {
		kw := st.node.Keyword
		if kw == "" || kw == want(kw) {
			continue
		}
		p.report(st.node.KeywordRange, "keyword "+kw+" is not "+wantName+" case like the rest of the file",
			`write "`+want(kw)+`"; keywords are case-insensitive, so one casing is easier to read and grep`)
	}
}

// maxStepTimeout is far beyond any phase default (30 s in the recipe,
// 10 min in the pre/post phases): a step hung that long holds a sandbox.
const maxStepTimeout = time.Hour

// checkRunTimeoutRange flags --timeout=0 (not "no limit": the phase default)
// and timeouts over maxStepTimeout.
func checkRunTimeoutRange(p *pass) {
	for _, st := range p.steps {
		r, ok := st.instr.(*lang.RunInstr)
		if !ok {
			continue
		}
		f := lastFlag(&r.InstrNode, "timeout")
		if f == nil || !f.HasValue {
			continue
		}
		switch {
		case r.Timeout <= 0:
			d, err := time.ParseDuration(f.Value)
			if err != nil || d > 0 {
				continue // the parser reports a bad duration
			}
			p.report(f.Range, "--timeout="+f.Value+" does not disable the step timeout",
				"a zero timeout means the phase default (30s in the recipe); give the time the step needs, e.g. --timeout=10m")
		case r.Timeout > maxStepTimeout:
			p.report(f.Range, "--timeout="+f.Value+" is far above any phase budget",
				"a hung step would hold the build sandbox that long; recipe steps default to 30s and pre/post steps to 10m, so keep a step under 1h or split it")
		}
	}
}

// checkEmptyContinuation: a blank line inside a continued instruction
// hides where the instruction ends.
func checkEmptyContinuation(p *pass) {
	src := p.file.Source
	for _, st := range p.steps {
		r := st.node.Range
		if r.End.Line == r.Start.Line {
			continue
		}
		text := src[r.Start.Offset:min(r.End.Offset, len(src))]
		off := r.Start.Offset
		for len(text) > 0 {
			nl := strings.IndexByte(string(text), '\n')
			if nl < 0 {
				break
			}
			line := text[nl+1:]
			end := strings.IndexByte(string(line), '\n')
			if end < 0 {
				break
			}
			if strings.TrimSpace(string(line[:end])) == "" {
				s := off + nl + 1
				p.report(p.lines.Range(s, s+end), "empty line inside a continued "+string(st.node.Kind),
					"the instruction goes on after the blank line, which reads as if it ended; remove the blank line")
			}
			off += nl + 1
			text = line
		}
	}
}
