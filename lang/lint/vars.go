package lint

// varRef is a `$NAME` or `${NAME}` inside a word the compiler expands
// (ENV value, WORKDIR, COPY, USER, FROM), with its offset in the word.
type varRef struct {
	name     string
	off, end int // byte offsets of "$…" in the word's value
}

// scanVars finds references the way the seed expands them: `$$` is a
// literal '$', `$NAME` takes the longest identifier, `${NAME}` runs to '}'.
// A `${…}` that is not an identifier is skipped: it expands to nothing and
// the compiler reports it.
func scanVars(s string, out []varRef) []varRef {
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			continue
		}
		switch c := s[i+1]; {
		case c == '$':
			i++
		case c == '{':
			j := i + 2
			for j < len(s) && s[j] != '}' {
				j++
			}
			if j < len(s) && isIdent(s[i+2:j]) {
				out = append(out, varRef{name: s[i+2 : j], off: i, end: j + 1})
			}
			i = j
		case isIdentStart(c):
			j := i + 2
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			out = append(out, varRef{name: s[i+1 : j], off: i, end: j})
			i = j - 1
		}
	}
	return out
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

func isIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

// wellKnownVars are set in every build sandbox before the recipe runs: the
// sandbox's own `env` output (the seed's fallback is PATH and HOME) plus
// what su and the agent add.
var wellKnownVars = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "SHELL": true,
	"PWD": true, "OLDPWD": true, "HOSTNAME": true, "TERM": true, "SHLVL": true,
	"LANG": true, "WRENN_SANDBOX_ID": true, "WRENN_TEMPLATE_ID": true,
}

// shellUses calls use for every name a shell body may expand: `$NAME` and
// the name at the start of any `${NAME…}` form. It is the cheap stand-in
// for the syntax tree when a body is not parsed; quoting is ignored, so a
// mention in single quotes counts as a use (unused-arg errs on the quiet
// side).
func shellUses(s string, use func(string)) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		j := i + 1
		if s[j] == '{' {
			j++
		}
		k := j
		for k < len(s) && isIdentChar(s[k]) {
			k++
		}
		if k > j && isIdentStart(s[j]) {
			use(s[j:k])
		}
		i = k - 1
	}
}
