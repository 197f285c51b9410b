package lint

import (
	"strings"

	"wrenn.dev/wrenn/lang"
)

// Config is what the caller (CLI flags, the language server's settings)
// says about linting. The file's own directives are applied on top of it:
// the file is the more specific source.
type Config struct {
	// Off lists rule codes that do not run.
	Off []string
	// Severity changes rules' severities by code. A rule whose default is
	// an error stays an error.
	Severity map[string]lang.Severity
	// SkipPrePost says the build skips the hidden pre- and post-build
	// phases, as the file's skip-pre-post directive does.
	SkipPrePost bool
	// ContextDir is the local build context path, if known: a RUN that
	// names it is reading the context.
	ContextDir string
	// Healthcheck says the build gets a healthcheck from outside the file
	// (the seed's build parameter, `wrenn build --healthcheck`).
	Healthcheck bool
}

// Directive keys that configure linting (lang defines and shape-checks
// them; their meaning is lint's): each takes a comma-separated list of rule
// codes, and `lint.<code>=off|error|warning|info` configures one rule.
const (
	DirectiveOff     = lang.DirectiveLintOff
	DirectiveError   = lang.DirectiveLintError
	DirectiveWarning = lang.DirectiveLintWarning
	DirectiveInfo    = lang.DirectiveLintInfo
	DirectivePrefix  = lang.DirectiveLintRule
)

// effective is a Config merged with the file's directives.
type effective struct {
	off         map[string]bool
	sev         map[string]lang.Severity
	skipPrePost bool
	contextDir  string
	healthcheck bool
}

func (e *effective) severity(r *Rule) lang.Severity {
	if s, ok := e.sev[r.Code]; ok && r.Severity != lang.SeverityError {
		return s
	}
	return r.Severity
}

// resolveConfig merges cfg and f's directives. Problems with the
// directives (unknown codes, trying to silence an error rule) are returned
// as entries for the meta rules to report.
func resolveConfig(f *lang.File, cfg Config, li *lang.LineIndex) (*effective, []configProblem) {
	e := &effective{off: map[string]bool{}, sev: map[string]lang.Severity{}, skipPrePost: cfg.SkipPrePost || f.SkipPrePost(), contextDir: cfg.ContextDir, healthcheck: cfg.Healthcheck}
	var probs []configProblem
	for _, c := range cfg.Off {
		if r := Lookup(c); r != nil && r.Severity != lang.SeverityError {
			e.off[c] = true
		}
	}
	for c, s := range cfg.Severity {
		e.sev[c] = s
	}
	for _, d := range f.Directives {
		key := strings.ToLower(strings.TrimSpace(d.Key))
		items := codeList(d.Value, valueOffset(f.Source, d))
		if code, ok := strings.CutPrefix(key, DirectivePrefix); ok {
			// lint.<code>=<level>: one rule per line.
			level := strings.ToLower(strings.TrimSpace(d.Value))
			key = "lint-" + level
			items = []listItem{{code: code, off: keyOffset(f.Source, d, DirectivePrefix)}}
			switch key {
			case DirectiveOff, DirectiveError, DirectiveWarning, DirectiveInfo:
			default:
				continue // the parser reports the bad level
			}
		}
		var sev lang.Severity
		switch key {
		case DirectiveOff:
		case DirectiveError:
			sev = lang.SeverityError
		case DirectiveWarning:
			sev = lang.SeverityWarning
		case DirectiveInfo:
			sev = lang.SeverityInfo
		default:
			continue
		}
		for _, it := range items {
			rng := li.Range(it.off, it.off+len(it.code))
			if it.off < 0 {
				rng = d.Range
			}
			r := Lookup(it.code)
			if r == nil && it.code != "all" {
				probs = append(probs, configProblem{kind: problemUnknown, code: it.code, rng: rng})
				continue
			}
			if it.code == "all" {
				if key != DirectiveOff {
					probs = append(probs, configProblem{kind: problemUnknown, code: it.code, rng: rng})
					continue
				}
				for _, r := range Rules {
					if r.Severity != lang.SeverityError {
						e.off[r.Code] = true
					}
				}
				continue
			}
			if r.Severity == lang.SeverityError && (key == DirectiveOff || sev != lang.SeverityError) {
				probs = append(probs, configProblem{kind: problemError, code: it.code, rng: rng})
				continue
			}
			if key == DirectiveOff {
				e.off[r.Code] = true
			} else {
				e.sev[r.Code] = sev
				delete(e.off, r.Code)
			}
		}
	}
	return e, probs
}

type problemKind int

const (
	problemUnknown problemKind = iota + 1 // names no rule
	problemError                          // tries to silence an error
)

type configProblem struct {
	kind problemKind
	code string
	rng  lang.Range
}

type listItem struct {
	code string
	off  int // source offset of code, -1 when unknown
}

// codeList splits "a, b,c" into codes with their source offsets; base is
// the source offset of value[0] or -1.
func codeList(value string, base int) []listItem {
	var out []listItem
	i := 0
	for _, part := range strings.Split(value, ",") {
		lead := len(part) - len(strings.TrimLeft(part, " \t"))
		code := strings.TrimSpace(part)
		if code != "" {
			off := -1
			if base >= 0 {
				off = base + i + lead
			}
			out = append(out, listItem{code: code, off: off})
		}
		i += len(part) + 1
	}
	return out
}

// keyOffset finds the source offset just after prefix in the directive's
// key, or -1.
func keyOffset(src []byte, d *lang.Directive, prefix string) int {
	s, e := d.Range.Start.Offset, d.Range.End.Offset
	if s < 0 || e > len(src) || s > e {
		return -1
	}
	i := strings.Index(strings.ToLower(string(src[s:e])), prefix)
	if i < 0 {
		return -1
	}
	return s + i + len(prefix)
}

// valueOffset finds the source offset of d.Value inside the directive's
// line, or -1.
func valueOffset(src []byte, d *lang.Directive) int {
	s, e := d.Range.Start.Offset, d.Range.End.Offset
	if s < 0 || e > len(src) || s > e || d.Value == "" {
		return -1
	}
	line := string(src[s:e])
	eq := strings.IndexByte(line, '=')
	if eq < 0 {
		return -1
	}
	i := strings.Index(line[eq+1:], d.Value)
	if i < 0 {
		return -1
	}
	return s + eq + 1 + i
}
