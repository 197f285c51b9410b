package lang

import (
	"os"
	"strings"
	"testing"
)

// specInstructions renders the instruction subsections of SPEC.md from
// InstructionDocs, in Kinds order.
func specInstructions() string {
	var b strings.Builder
	for _, k := range Kinds {
		b.WriteString("#### " + string(k) + "\n\n" + strings.TrimRight(InstructionDocs[k].Markdown(), "\n") + "\n\n")
	}
	return b.String()
}

// TestSpecHasInstructionDocs keeps SPEC.md and the hover docs from
// drifting: SPEC.md must contain every instruction's doc verbatim. After
// changing InstructionDocs, paste the output of
// `WRENN_PRINT_SPEC=/tmp/spec.md go test ./lang -run TestPrintSpec` into
// SPEC.md.
func TestSpecHasInstructionDocs(t *testing.T) {
	spec, err := os.ReadFile("../SPEC.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(InstructionDocs) != len(Kinds) {
		t.Fatalf("InstructionDocs documents %d kinds, Kinds lists %d", len(InstructionDocs), len(Kinds))
	}
	for _, k := range Kinds {
		want := "#### " + string(k) + "\n\n" + strings.TrimRight(InstructionDocs[k].Markdown(), "\n") + "\n"
		if !strings.Contains(string(spec), want) {
			t.Errorf("SPEC.md lacks the doc of %s, or it differs; it should read:\n%s", k, want)
		}
	}
	for _, c := range ParseCodes {
		if !strings.Contains(string(spec), "| `"+c.Code+"` | "+c.Severity.String()+" | "+c.Summary+" |") {
			t.Errorf("SPEC.md section 2 lacks the row of %s", c.Code)
		}
	}
}

// TestPrintSpec writes the generated SPEC.md parts to the file named by
// WRENN_PRINT_SPEC (it does nothing without it).
func TestPrintSpec(t *testing.T) {
	out := os.Getenv("WRENN_PRINT_SPEC")
	if out == "" {
		return
	}
	var b strings.Builder
	b.WriteString(specInstructions())
	for _, c := range ParseCodes {
		b.WriteString("| `" + c.Code + "` | " + c.Severity.String() + " | " + c.Summary + " |\n")
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
