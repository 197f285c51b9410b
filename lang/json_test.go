package lang

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestDiagnosticJSONShape pins the JSON shape other tools depend on to the
// example in SPEC.md section 2, produced by the real parser.
func TestDiagnosticJSONShape(t *testing.T) {
	_, ds := Parse("Wrennfile", []byte("RUN echo a\nRUNN echo\n"))
	got, err := json.Marshal(struct {
		Diagnostics Diagnostics `json:"diagnostics"`
	}{ds})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"diagnostics":[{"severity":"error","code":"unknown-instruction","message":"unknown instruction \"RUNN\"","detail":"did you mean RUN?","range":{"file":"Wrennfile","start":{"line":2,"column":1,"offset":11},"end":{"line":2,"column":5,"offset":15}}}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	spec, err := os.ReadFile("../SPEC.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(spec), "```json\n"+want+"\n```") {
		t.Error("SPEC.md section 2 must show this exact JSON example")
	}
	var back struct{ Diagnostics Diagnostics }
	if err := json.Unmarshal(got, &back); err != nil || len(back.Diagnostics) != 1 || back.Diagnostics[0].Severity != SeverityError {
		t.Errorf("round trip: %v %+v", err, back)
	}
}
