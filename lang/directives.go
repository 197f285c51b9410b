package lang

import (
	"strconv"
	"strings"
)

// Directive keys. SPEC.md section 1.4 defines them; lang/lint interprets
// the lint ones (it knows the rule codes), the parser checks their shape.
const (
	DirectiveSkipPrePost = "skip-pre-post"
	DirectiveLintOff     = "lint-off"
	DirectiveLintError   = "lint-error"
	DirectiveLintWarning = "lint-warning"
	DirectiveLintInfo    = "lint-info"
	// DirectiveLintRule prefixes `lint.<code>=off|error|warning|info`.
	DirectiveLintRule = "lint."
)

var directiveKeys = []string{DirectiveSkipPrePost, DirectiveLintOff, DirectiveLintError, DirectiveLintWarning, DirectiveLintInfo}

// directive records `# wrenn:KEY[=VALUE]` (body is what follows "wrenn:")
// and checks its shape.
func (p *parser) directive(body string, s, e int) {
	key, value, hasValue := strings.Cut(body, "=")
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	r := p.li.Range(s, e)
	d := &Directive{Key: key, Value: value, Range: r}
	switch {
	case key == DirectiveSkipPrePost:
		if !hasValue {
			d.Value = "true"
		} else if _, err := strconv.ParseBool(value); err != nil {
			p.diag(SeverityError, CodeInvalidDirectiveValue, r, "skip-pre-post must be true or false, not "+strconv.Quote(value), "")
		}
	case key == DirectiveLintOff || key == DirectiveLintError || key == DirectiveLintWarning || key == DirectiveLintInfo:
		if value == "" {
			p.diag(SeverityError, CodeInvalidDirectiveValue, r, key+" needs a comma-separated list of rule codes", "")
		}
	case strings.HasPrefix(key, DirectiveLintRule):
		switch value {
		case "off", "error", "warning", "info":
		default:
			p.diag(SeverityError, CodeInvalidDirectiveValue, r, key+" must be off, error, warning or info, not "+strconv.Quote(value), "")
		}
		if key == DirectiveLintRule {
			p.diag(SeverityError, CodeInvalidDirectiveValue, r, "lint. needs a rule code, as in lint.run-cd=off", "")
		}
	default:
		p.diag(SeverityWarning, CodeUnknownDirective, r, "unknown directive "+strconv.Quote(key), DidYouMean(key, append(directiveKeys, "lint.<code>")))
	}
	p.file.Directives = append(p.file.Directives, d)
}

// Directive returns the last directive with the given key.
func (f *File) Directive(key string) (*Directive, bool) {
	for i := len(f.Directives) - 1; i >= 0; i-- {
		if f.Directives[i].Key == key {
			return f.Directives[i], true
		}
	}
	return nil, false
}

// SkipPrePost reports whether the file's directives turn off the hidden
// pre-build and post-build phases (`# wrenn:skip-pre-post[=true]`).
func (f *File) SkipPrePost() bool {
	d, ok := f.Directive(DirectiveSkipPrePost)
	if !ok {
		return false
	}
	v, err := strconv.ParseBool(d.Value)
	return err == nil && v
}
