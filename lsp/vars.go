package lsp

import (
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
)

// varDef is where a variable in scope was last set.
type varDef struct {
	Name     string
	Kind     lang.Kind // KindEnv or KindArg
	Raw      string    // the value as written ("" for an ARG without default)
	HasValue bool
	Value    string // after expansion against the variables before it
	Def      lang.Range
}

// varsInScope returns the variables ENV and ARG set before offset off:
// ARGs declared before the first FROM, then the ENV and ARG instructions
// of off's stage that end before off's instruction starts. Each name maps
// to its last definition; values are expanded once, in order, as the
// compiler does (compiler.Expand), with buildArgs overriding ARG defaults.
func varsInScope(f *lang.File, off int, buildArgs map[string]string) map[string]varDef {
	vars := map[string]varDef{}
	if f == nil {
		return vars
	}
	limit := off
	if in, _ := instrAt(f, off); in != nil {
		limit = in.Node().Range.Start.Offset
	}
	firstFrom := -1
	for _, st := range f.Stages {
		if st.From != nil {
			firstFrom = st.From.Range.Start.Offset
			break
		}
	}
	cur := stageAt(f, off)
	for _, st := range f.Stages {
		for _, in := range st.Instructions {
			start := in.Node().Range.Start.Offset
			global := firstFrom >= 0 && start < firstFrom
			if start >= limit || (st != cur && !global) {
				continue
			}
			lookup := func(n string) (string, bool) { v, ok := vars[n]; return v.Value, ok }
			switch x := in.(type) {
			case *lang.EnvInstr:
				vars[x.Key.Value] = varDef{Name: x.Key.Value, Kind: lang.KindEnv, Raw: x.Value.Value, HasValue: true,
					Value: compiler.Expand(x.Value.Value, lookup), Def: x.Key.Range}
			case *lang.ArgInstr:
				d := varDef{Name: x.Name.Value, Kind: lang.KindArg, Def: x.Name.Range}
				if x.Default != nil {
					d.Raw, d.HasValue = x.Default.Value, true
					d.Value = compiler.Expand(x.Default.Value, lookup)
				}
				if v, ok := buildArgs[x.Name.Value]; ok {
					d.Value, d.HasValue = v, true
				}
				vars[x.Name.Value] = d
			}
		}
	}
	return vars
}

// varRef is a `$NAME` or `${NAME}` in the text.
type varRef struct {
	Name       string
	Start, End int // the whole reference, `$` to name end or `}`
}

// varAt finds the variable reference covering byte offset off in text.
// `$$` is an escaped dollar, not a reference.
func varAt(text string, off int) (varRef, bool) {
	lo := max(0, off-256)
	for i := min(off, len(text)-1); i >= lo; i-- {
		if text[i] == '\n' && i < off {
			break
		}
		if text[i] != '$' || (i > 0 && text[i-1] == '$') {
			continue
		}
		r, ok := refAt(text, i)
		if ok && r.Start <= off && off <= r.End {
			return r, true
		}
	}
	return varRef{}, false
}

// refAt parses a reference starting at the `$` at text[i].
func refAt(text string, i int) (varRef, bool) {
	j := i + 1
	braced := j < len(text) && text[j] == '{'
	if braced {
		j++
	}
	k := j
	for k < len(text) && isNameByte(text[k], k == j) {
		k++
	}
	if k == j {
		return varRef{}, false
	}
	end := k
	if braced && k < len(text) && text[k] == '}' {
		end = k + 1
	}
	return varRef{Name: text[j:k], Start: i, End: end}, true
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}
