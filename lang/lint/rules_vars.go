package lint

import "sort"

// checkUndefinedVariable: the compiler expands $VAR once against the
// current env, and an unset variable becomes empty without a word.
func checkUndefinedVariable(p *pass) {
	for _, st := range p.steps {
		for _, r := range st.refs {
			if r.defined {
				continue
			}
			detail := "ENV and ARG set variables; an unset one expands to the empty string"
			if r.suggestion != "" {
				detail = r.suggestion
			}
			p.report(p.wordRange(r.word, r.off, r.end), "variable "+r.name+" is not set here; it expands to nothing", detail)
		}
	}
}

func knownVars(si *stageInfo) []string {
	out := make([]string, 0, len(si.vars)+len(wellKnownVars))
	for k := range si.vars {
		out = append(out, k)
	}
	for k := range wellKnownVars {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkUnusedArg: an ARG's value goes into the layer key of every later
// step, so an unused one re-runs them for nothing when it changes.
func checkUnusedArg(p *pass) {
	for _, a := range p.args {
		if a.used {
			continue
		}
		p.report(a.instr.Name.Range, "ARG "+a.instr.Name.Value+" is never used",
			"its value is still part of the layer key of every later step, so changing it re-runs them for nothing; remove it")
	}
}
