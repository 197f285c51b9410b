package lint

import (
	"slices"
	"strings"

	"wrenn.dev/wrenn/lang"
)

// DocBaseURL is where the rule pages of docs/rules/ are published; a rule's
// URL is DocBaseURL + its code.
const DocBaseURL = "https://wrenn.dev/docs/rules/"

// Rule is one lint check.
type Rule struct {
	// Code is stable and kebab-case: it names the rule in diagnostics,
	// directives and suppression comments, so it never changes.
	Code string
	// Severity is the default; a directive or Config may change it, but a
	// rule whose default is an error always stays an error.
	Severity lang.Severity
	// Summary is one lowercase line.
	Summary string
	check   func(p *pass)
}

// DocPath is the rule's page relative to the repository root.
func (r *Rule) DocPath() string { return "docs/rules/" + r.Code + ".md" }

// URL is the published page of the rule.
func (r *Rule) URL() string { return DocBaseURL + r.Code }

var ruleIndex map[string]*Rule

func init() {
	slices.SortFunc(Rules, func(a, b *Rule) int { return strings.Compare(a.Code, b.Code) })
	ruleIndex = make(map[string]*Rule, len(Rules))
	for _, r := range Rules {
		ruleIndex[r.Code] = r
	}
}

// Lookup returns the rule with the given code, or nil.
func Lookup(code string) *Rule { return ruleIndex[code] }

// Codes returns every rule code in order.
func Codes() []string {
	out := make([]string, len(Rules))
	for i, r := range Rules {
		out[i] = r.Code
	}
	return out
}
