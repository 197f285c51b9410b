package lint

import (
	"sort"
	"strings"

	"wrenn.dev/wrenn/lang"
)

// Run parses src and lints it: the parser's diagnostics and the rules',
// with configuration and suppressions applied, sorted. It is the one entry
// point of `wrenn compile` and the language server.
func Run(name string, src []byte, cfg Config) (*lang.File, lang.Diagnostics) {
	f, diags := lang.Parse(name, src)
	return f, lint(f, cfg, diags)
}

// RunRecipe is Run for a recipe in the seed's form, a JSON list of lines
// (line N of the diagnostics is element N).
func RunRecipe(name string, lines []string, cfg Config) (*lang.File, lang.Diagnostics) {
	f, diags := lang.ParseRecipe(name, lines)
	return f, lint(f, cfg, diags)
}

// Check runs the enabled rules on f and returns their diagnostics, with
// the file's suppressions applied, sorted.
func Check(f *lang.File, cfg Config) lang.Diagnostics {
	return lint(f, cfg, nil)
}

func lint(f *lang.File, cfg Config, parsed lang.Diagnostics) lang.Diagnostics {
	if f == nil {
		return parsed.Sort()
	}
	li := lang.NewLineIndex(f.Name, f.Source)
	eff, probs := resolveConfig(f, cfg, li)
	p := newPass(f, li, eff)
	for _, r := range Rules {
		if r.check == nil || eff.off[r.Code] {
			continue
		}
		p.rule = r
		r.check(p)
	}
	p.rule = nil
	p.configProblems(probs)
	all := make(lang.Diagnostics, 0, len(parsed)+len(p.diags))
	all = append(append(all, parsed...), p.diags...)
	all = p.suppress(all)
	return all.Sort()
}

// configProblems reports what resolveConfig found wrong with directives.
func (p *pass) configProblems(probs []configProblem) {
	for _, pr := range probs {
		p.metaProblem(pr, "directive")
	}
}

func (p *pass) metaProblem(pr configProblem, where string) {
	switch pr.kind {
	case problemUnknown:
		if p.cfg.off[codeUnknownLintCode] {
			return
		}
		p.rule = Lookup(codeUnknownLintCode)
		detail := lang.DidYouMean(pr.code, p.knownCodes())
		p.report(pr.rng, "unknown rule code "+quote(pr.code)+" in "+where, detail)
	case problemError:
		if p.cfg.off[codeUnsilenceableError] {
			return
		}
		p.rule = Lookup(codeUnsilenceableError)
		p.report(pr.rng, "rule "+quote(pr.code)+" reports errors, which cannot be silenced", "fix the error instead")
	}
	p.rule = nil
}

// knownCodes is every code a suppression may name: the rules' and the
// parser's warnings.
func (p *pass) knownCodes() []string {
	return append(Codes(), parserCodes...)
}

// parserCodes are the parser's diagnostic codes, which a suppression may
// name too; parserErrors are those whose severity is error.
var parserCodes, parserErrors = func() ([]string, map[string]bool) {
	var codes []string
	errs := map[string]bool{}
	for _, c := range lang.ParseCodes {
		codes = append(codes, c.Code)
		if c.Severity == lang.SeverityError {
			errs[c.Code] = true
		}
	}
	return codes, errs
}()

func quote(s string) string { return `"` + s + `"` }

// suppress drops the warnings and infos that a `# wrenn-ignore=` comment
// before their instruction names, and reports suppressions that name
// unknown codes, name an error rule, or silence nothing.
func (p *pass) suppress(all lang.Diagnostics) lang.Diagnostics {
	var nodes []*lang.InstrNode
	for _, st := range p.steps {
		if len(st.node.Suppress) > 0 {
			nodes = append(nodes, st.node)
		}
	}
	if len(nodes) == 0 {
		return all
	}
	// emitted maps the codes reported in this file to whether any of
	// them was a warning or info (false: errors only).
	emitted := map[string]bool{}
	for _, d := range all {
		emitted[d.Code] = emitted[d.Code] || d.Severity != lang.SeverityError
	}
	used := make([]map[string]bool, len(nodes))
	out := all[:0]
	for _, d := range all {
		i := sort.Search(len(nodes), func(i int) bool { return nodes[i].Range.End.Offset > d.Range.Start.Offset })
		if d.Severity != lang.SeverityError && i < len(nodes) && d.Range.File == nodes[i].Range.File && nodes[i].Range.Start.Offset <= d.Range.Start.Offset {
			if code, ok := names(nodes[i].Suppress, d.Code); ok {
				if used[i] == nil {
					used[i] = map[string]bool{}
				}
				used[i][code] = true
				continue
			}
		}
		out = append(out, d)
	}
	p.diags = nil
	for i, n := range nodes {
		cms := p.suppressComments(n)
		for _, code := range n.Suppress {
			rng := n.KeywordRange
			for _, cm := range cms {
				if r, ok := p.codeRange(cm, code); ok {
					rng = r
					break
				}
			}
			r := Lookup(code)
			switch {
			case code == "all":
				if !used[i][code] {
					p.unused(rng, code)
				}
			case r == nil && !contains(parserCodes, code) && !hasKey(emitted, code):
				p.metaProblem(configProblem{kind: problemUnknown, code: code, rng: rng}, "suppression")
			case r != nil && p.cfg.severity(r) == lang.SeverityError, r == nil && (parserErrors[code] || hasKey(emitted, code) && !emitted[code]):
				p.metaProblem(configProblem{kind: problemError, code: code, rng: rng}, "suppression")
			case !used[i][code] && (r == nil || !p.cfg.off[code]):
				p.unused(rng, code)
			}
		}
	}
	return append(out, p.diags...)
}

func (p *pass) unused(rng lang.Range, code string) {
	if p.cfg.off[codeUnusedSuppression] {
		return
	}
	p.rule = Lookup(codeUnusedSuppression)
	p.report(rng, "suppression of "+quote(code)+" silences nothing", "remove it, so a later problem on this instruction is not hidden")
	p.rule = nil
}

// names reports whether list suppresses code, and the entry that did.
func names(list []string, code string) (string, bool) {
	for _, c := range list {
		if c == code || c == "all" {
			return c, true
		}
	}
	return "", false
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suppressComments are the `# wrenn-ignore=` lines directly above n (the
// parser merges consecutive ones), nearest first.
func (p *pass) suppressComments(n *lang.InstrNode) []*lang.Comment {
	cs := p.file.Comments
	i := sort.Search(len(cs), func(i int) bool { return cs[i].Range.Start.Offset >= n.Range.Start.Offset })
	line := n.Range.Start.Line - 1
	var out []*lang.Comment
	for i--; i >= 0 && cs[i].Range.End.Line == line && strings.Contains(cs[i].Text, "wrenn-ignore"); i-- {
		out = append(out, cs[i])
		line = cs[i].Range.Start.Line - 1
	}
	return out
}

// codeRange is the range of code inside the suppression comment c.
func (p *pass) codeRange(c *lang.Comment, code string) (lang.Range, bool) {
	at := strings.Index(c.Text, "wrenn-ignore")
	rest := c.Text[at:]
	for j := 0; ; {
		k := strings.Index(rest[j:], code)
		if k < 0 {
			return lang.Range{}, false
		}
		k += j
		end := k + len(code)
		before := k == 0 || strings.ContainsRune("=, \t", rune(rest[k-1]))
		after := end == len(rest) || strings.ContainsRune(", \t", rune(rest[end]))
		if before && after {
			s := c.Range.Start.Offset + at + k
			return p.lines.Range(s, s+len(code)), true
		}
		j = end
	}
}
