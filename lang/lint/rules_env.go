package lint

import (
	"strings"

	"wrenn.dev/wrenn/lang"
)

// checkEnvMultipleAssignments: the seed splits ENV on the first '=' and
// keeps the rest literally, so `ENV A=1 B=2` sets A to "1 B=2".
func checkEnvMultipleAssignments(p *pass) {
	for _, st := range p.steps {
		e, ok := st.instr.(*lang.EnvInstr)
		if !ok {
			continue
		}
		v := e.Value.Value
		var q byte
		for i := 0; i < len(v); i++ {
			c := v[i]
			switch {
			case q != 0:
				if c == q {
					q = 0
				}
			case c == '"' || c == '\'':
				q = c
			case (c == ' ' || c == '\t') && i+1 < len(v) && isIdentStart(v[i+1]):
				j := i + 1
				for j < len(v) && isIdentChar(v[j]) {
					j++
				}
				if j < len(v) && v[j] == '=' {
					end := j + 1
					for end < len(v) && v[end] != ' ' && v[end] != '\t' {
						end++
					}
					p.report(p.wordRange(&e.Value, i+1, end),
						"ENV sets one variable: "+e.Key.Value+" becomes "+quoteValue(v),
						"ENV splits on the first '=' and keeps the rest of the line, so "+v[i+1:j]+" is not set; write one ENV per variable")
					i = len(v)
				}
			}
		}
	}
}

// checkEnvQuotesKept: ENV values are literal, quotes included.
func checkEnvQuotesKept(p *pass) {
	for _, st := range p.steps {
		e, ok := st.instr.(*lang.EnvInstr)
		if !ok {
			continue
		}
		v := e.Value.Value
		if len(v) < 2 || (v[0] != '"' && v[0] != '\'') || v[len(v)-1] != v[0] {
			continue
		}
		p.report(e.Value.Range,
			"quotes are part of the value: "+e.Key.Value+" becomes "+quoteValue(v),
			"ENV keeps the rest of the line literally, spaces and quotes included; write ENV "+e.Key.Value+"="+v[1:len(v)-1])
	}
}

func quoteValue(v string) string {
	return "`" + v + "`"
}

// secretWords are name parts that mark a variable as holding a secret;
// keyQualifiers make a following KEY one too (API_KEY, not KEYBOARD).
var (
	secretWords   = map[string]bool{"PASSWORD": true, "PASSWD": true, "PASS": true, "SECRET": true, "SECRETS": true, "TOKEN": true, "APIKEY": true, "CREDENTIAL": true, "CREDENTIALS": true, "PRIVATEKEY": true}
	keyQualifiers = map[string]bool{"API": true, "PRIVATE": true, "ACCESS": true, "SECRET": true, "SIGNING": true, "ENCRYPTION": true, "AUTH": true, "SSH": true}
)

func looksSecret(name string) bool {
	parts := strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool { return r == '_' || r == '-' })
	for i, w := range parts {
		if secretWords[w] {
			return true
		}
		if w == "KEY" && i > 0 && keyQualifiers[parts[i-1]] {
			return true
		}
	}
	return false
}

// checkSecretInVariable: ENV values become the template's default env, seen
// by every sandbox; ARG values go into layer keys and stored preimages.
func checkSecretInVariable(p *pass) {
	for _, st := range p.steps {
		switch x := st.instr.(type) {
		case *lang.EnvInstr:
			if looksSecret(x.Key.Value) && x.Value.Value != "" {
				p.report(x.Key.Range,
					"ENV "+x.Key.Value+" looks like a secret baked into the template",
					"the env after the recipe becomes the default env of every sandbox made from the template, and is stored in its layers; pass secrets at sandbox creation instead")
			}
		case *lang.ArgInstr:
			if looksSecret(x.Name.Value) {
				p.report(x.Name.Range,
					"ARG "+x.Name.Value+" looks like a secret",
					"ARG values are hashed into the layer keys of later steps and kept in the cache's stored preimages (wrenn cache explain shows them); fetch secrets inside the step that needs them")
			}
		}
	}
}
