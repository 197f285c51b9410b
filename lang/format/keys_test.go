package format_test

import (
	"slices"
	"testing"

	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
)

// checkKeys compiles the file before and after formatting (offline: base
// identities by name, no build context) and requires the same steps with
// the same layer keys: what DESIGN.md promises for whitespace, comment
// and continuation changes.
func checkKeys(t *testing.T, name string, before, after []byte) {
	t.Helper()
	a, b := stepKeys(t, name, before), stepKeys(t, name, after)
	if !slices.Equal(a, b) {
		t.Fatalf("formatting changed layer keys\n--- before\n%q\n--- after\n%q\n--- in\n%s--- out\n%s", a, b, before, after)
	}
}

// stepKeys returns "KIND key" for every step of the compiled file.
func stepKeys(t *testing.T, name string, src []byte) []string {
	t.Helper()
	f, diags := lang.Parse(name, src)
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags.Errors())
	}
	plan, _ := compiler.Compile(f, compiler.Options{})
	var out []string
	for _, s := range plan.Steps {
		out = append(out, string(s.Kind)+" "+s.Key.String())
	}
	return out
}

// TestStepKeysSeeChanges guards checkKeys against comparing nothing: the
// keys exist and differ when a command differs.
func TestStepKeysSeeChanges(t *testing.T) {
	a := stepKeys(t, "Wrennfile", []byte("FROM ubuntu\nRUN echo a\n"))
	b := stepKeys(t, "Wrennfile", []byte("FROM ubuntu\nRUN echo b\n"))
	if len(a) == 0 || slices.Equal(a, b) {
		t.Fatalf("keys %q and %q: want steps, differing", a, b)
	}
}
