package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wrenn.dev/wrenn/lang"
)

// TestJSONShapeWithRelated pins the whole documented JSON shape (SPEC.md
// section 2), related ranges included, byte for byte.
func TestJSONShapeWithRelated(t *testing.T) {
	src := "COPY ../a /b\n"
	d := lang.Diagnostic{Severity: lang.SeverityError, Code: "copy-source-escapes", Message: "m", Range: rng("W", src, 0, 12),
		Related: []lang.Related{{Message: "this source", Range: rng("W", src, 5, 9)}}}
	var b strings.Builder
	if err := writeJSON(&b, lang.Diagnostics{d}); err != nil {
		t.Fatal(err)
	}
	want := `{"diagnostics":[{"severity":"error","code":"copy-source-escapes","message":"m","range":{"file":"W","start":{"line":1,"column":1,"offset":0},"end":{"line":1,"column":13,"offset":12}},` +
		`"related":[{"message":"this source","range":{"file":"W","start":{"line":1,"column":6,"offset":5},"end":{"line":1,"column":10,"offset":9}}}]}]}` + "\n"
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
}

// badFile writes a Wrennfile of n unknown instructions and one bad flag.
func badFile(t *testing.T, n int) string {
	var b strings.Builder
	b.WriteString("RUN --timout=1s true\n")
	for i := 0; i < n; i++ {
		b.WriteString("RUNN make\n")
	}
	path := filepath.Join(t.TempDir(), "Wrennfile")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCompileCapsDiagnosticsPerFile(t *testing.T) {
	path := badFile(t, 5000)
	out, _, code := runWrenn(t, "compile", "--format", "json", path)
	if code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
	}
	var doc jsonReport
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Diagnostics) != defaultMaxDiagnostics+1 {
		t.Fatalf("%d diagnostics, want %d and a summary", len(doc.Diagnostics), defaultMaxDiagnostics)
	}
	// The first N are the real ones, complete and in order.
	if d := doc.Diagnostics[0]; d.Code != "unknown-flag" || d.Range.Start.Line != 1 {
		t.Errorf("first = %+v", d)
	}
	if d := doc.Diagnostics[defaultMaxDiagnostics-1]; d.Code != "unknown-instruction" || d.Range.Start.Line != defaultMaxDiagnostics || d.Detail == "" {
		t.Errorf("last kept = %+v", d)
	}
	sum := doc.Diagnostics[defaultMaxDiagnostics]
	if sum.Code != CodeTooManyDiagnostics || sum.Severity != lang.SeverityError ||
		sum.Message != "4001 more diagnostics not shown: 4001 errors" || sum.Range.Start.Line != defaultMaxDiagnostics+1 || sum.Range.End != sum.Range.Start {
		t.Errorf("summary = %+v", sum)
	}

	// --max-diagnostics=0 reports all; a small cap in text ends with the
	// summary and its hint.
	out, _, _ = runWrenn(t, "compile", "--format", "json", "--max-diagnostics=0", path)
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Diagnostics) != 5001 {
		t.Errorf("--max-diagnostics=0: %d diagnostics, %v", len(doc.Diagnostics), err)
	}
	out, errOut, code := runWrenn(t, "compile", "--color=never", "--max-diagnostics=2", path)
	if code != ExitFailure || strings.Count(out, "[unknown-instruction]") != 1 || !strings.Contains(out, ":3:1: error: 4999 more diagnostics not shown: 4999 errors [too-many-diagnostics]") ||
		!strings.Contains(out, "--max-diagnostics=N") || !strings.Contains(errOut, "5001 errors in 1 file") {
		t.Errorf("text, cap 2: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := runWrenn(t, "compile", "--max-diagnostics=-1", path); code != ExitUsage || !strings.Contains(errOut, "--max-diagnostics=-1") {
		t.Errorf("negative cap: exit %d %s", code, errOut)
	}
}

func TestCapDiagnosticsSeverityOfWorstLeftOut(t *testing.T) {
	w := lang.Diagnostic{Severity: lang.SeverityWarning, Code: "w"}
	i := lang.Diagnostic{Severity: lang.SeverityInfo, Code: "i"}
	got := capDiagnostics(lang.Diagnostics{w, i, w, i}, 1)
	if len(got) != 2 || got[1].Severity != lang.SeverityWarning || got[1].Message != "3 more diagnostics not shown: 1 warning, 2 infos" {
		t.Errorf("cap = %+v", got)
	}
	if got := capDiagnostics(lang.Diagnostics{w, i}, 2); len(got) != 2 || got[1].Code != "i" {
		t.Errorf("at the cap: %+v", got)
	}
}

// TestHelpJSONShapeMatchesOutput keeps `wrenn compile --help` true: the
// member names in its JSON sketch come in the order writeJSON prints them.
func TestHelpJSONShapeMatchesOutput(t *testing.T) {
	help, _, _ := runWrenn(t, "compile", "--help")
	i := strings.Index(help, `{"diagnostics"`)
	j := strings.Index(help, "lines and columns 1-based")
	if i < 0 || j < i {
		t.Fatalf("no JSON sketch in --help:\n%s", help)
	}
	// keys lists the member names of a JSON text in order.
	keys := func(s string) []string {
		var out []string
		for k := range strings.SplitSeq(s, `":`) {
			if q := strings.LastIndexByte(k, '"'); q >= 0 {
				out = append(out, k[q+1:])
			}
		}
		return out
	}
	src := "RUN x\n"
	var b strings.Builder
	d := lang.Diagnostic{Severity: lang.SeverityError, Code: "c", Message: "m", Detail: "d", Range: rng("W", src, 0, 3)}
	if err := writeJSON(&b, lang.Diagnostics{d}); err != nil {
		t.Fatal(err)
	}
	sketch := strings.Join(strings.Fields(help[i:j]), "")
	sketch = strings.ReplaceAll(sketch, `{…}`, `{"line":1,"column":1,"offset":0}`)
	if got, want := keys(sketch), keys(b.String()); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("--help sketch members %v, writeJSON prints %v", got, want)
	}
}
