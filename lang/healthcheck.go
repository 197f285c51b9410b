package lang

import "strings"

// ParseHealthcheck parses a healthcheck given outside a Wrennfile, as the
// seed's build parameter: `[--interval=D] [--timeout=D] [--start-period=D]
// [--retries=N] [CMD] <cmd>`, with the seed's defaults. It validates exactly
// as a HEALTHCHECK line does; ranges point into spec, named name (the
// keyword range is empty at offset 0, since spec has no keyword).
func ParseHealthcheck(name, spec string) (*HealthcheckInstr, Diagnostics) {
	src := []byte(spec)
	p := &parser{file: &File{Name: name, Source: src}, li: NewLineIndex(name, src)}
	const kw = "HEALTHCHECK "
	body := strings.TrimRight(spec, " \t\r\n")
	lead := len(body) - len(strings.TrimLeft(body, " \t\r\n"))
	body = body[lead:]
	text := kw + body
	m := make([]int, len(text)+1)
	for i := range kw {
		m[i] = lead
	}
	for i := range body {
		m[len(kw)+i] = lead + i
	}
	m[len(text)] = lead + len(body)
	l := &logical{text: text, m: m, line: 1}
	g, err := parseLines([]*logical{l})
	if err != nil || len(g.Instrs) != 1 {
		p.diag(SeverityError, CodeParse, p.li.Range(0, 0), "internal parser error", "please report this healthcheck as a bug")
		return &HealthcheckInstr{}, p.diags.Sort()
	}
	p.lower(l, g.Instrs[0])
	if p.sh != nil {
		shellPool.Put(p.sh)
	}
	h := p.file.Stages[0].Instructions[0].(*HealthcheckInstr)
	h.KeywordRange = p.li.Range(lead, lead)
	h.Range.Start = h.KeywordRange.Start
	return h, p.diags.Sort()
}
