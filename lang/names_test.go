package lang

import (
	"regexp"
	"testing"
)

// nameChecks pairs each hand-written check with the regexp it replaces.
var nameChecks = []struct {
	re    *regexp.Regexp
	check func(string) bool
}{
	{regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`), validUserName},
	{regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`), validVarName},
	{regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`), validStageName},
	{regexp.MustCompile(`^[0-7]{3,4}$`), validChmod},
	{regexp.MustCompile(`^[0-9]+$`), isNumeric},
}

var nameSeeds = []string{"", "a", "_", "-", "0", "9x", "app", "app-1", "a_b", "a.b", "A.b-c_", "Ä", "a\n", "777", "0755", "07555", "8", "12", "1234", "x y", "root", "-a", ".a", "a$"}

func TestNameChecksMatchRegexps(t *testing.T) {
	for _, s := range nameSeeds {
		for _, nc := range nameChecks {
			if got, want := nc.check(s), nc.re.MatchString(s); got != want {
				t.Errorf("%s on %q = %v, want %v", nc.re, s, got, want)
			}
		}
	}
}

func FuzzNameChecks(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, nc := range nameChecks {
			if got, want := nc.check(s), nc.re.MatchString(s); got != want {
				t.Fatalf("%s on %q = %v, want %v", nc.re, s, got, want)
			}
		}
	})
}
