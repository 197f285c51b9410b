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

// TestLineIndexPos checks lookups (forward, backward and jumping, so the
// last-line hint is used and missed) against a linear scan, around empty
// lines and at both ends.
func TestLineIndexPos(t *testing.T) {
	src := []byte("a\n\nbc\n\n\ndef\nx")
	want := make([]Pos, len(src)+1)
	line, col := 1, 1
	for off := 0; off <= len(src); off++ {
		want[off] = Pos{Line: line, Column: col, Offset: off}
		if off < len(src) && src[off] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	li := NewLineIndex("f", src)
	var order []int
	for off := 0; off <= len(src); off++ {
		order = append(order, off)
	}
	for off := len(src); off >= 0; off-- {
		order = append(order, off)
	}
	for i := 0; i <= 3*len(src); i++ {
		order = append(order, (i*7)%(len(src)+1))
	}
	for _, off := range order {
		if got := li.Pos(off); got != want[off] {
			t.Errorf("Pos(%d) = %+v, want %+v", off, got, want[off])
		}
	}
	if got := li.Pos(-3); got != want[0] {
		t.Errorf("Pos(-3) = %+v", got)
	}
	if got := li.Pos(999); got != want[len(src)] {
		t.Errorf("Pos(999) = %+v", got)
	}
}
