package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/lang"
)

// planFile is a hand-made two-instruction file (RUN, COPY) so these tests
// do not depend on the parser.
func planFile(name string) *lang.File {
	r := func(line int) lang.Range {
		return lang.Range{File: name, Start: lang.Pos{Line: line, Column: 1, Offset: (line - 1) * 20}, End: lang.Pos{Line: line, Column: 15, Offset: (line-1)*20 + 14}}
	}
	run := &lang.RunInstr{InstrNode: lang.InstrNode{Kind: lang.KindRun, Keyword: "run", Range: r(1)}, Cmd: lang.Shell{Text: "echo hi"}}
	cp := &lang.CopyInstr{InstrNode: lang.InstrNode{Kind: lang.KindCopy, Keyword: "COPY", Range: r(2)},
		Sources: []lang.Word{{Value: "app.txt", Range: r(2)}}, Dest: lang.Word{Value: "/app/", Range: r(2)}}
	return &lang.File{Name: name, Stages: []*lang.Stage{{Instructions: []lang.Instruction{run, cp}}}}
}

func planContext(t *testing.T, withFile bool) string {
	dir := t.TempDir()
	if withFile {
		if err := os.WriteFile(filepath.Join(dir, "app.txt"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRunPlanJSON(t *testing.T) {
	var out bytes.Buffer
	cmd := &cobra.Command{}
	cmd.SetErr(&bytes.Buffer{})
	hasErrors, err := runPlan(cmd, &out, planFile("Wrennfile"), nil, planOptions{Context: planContext(t, true), Format: formatJSON})
	if err != nil || hasErrors {
		t.Fatalf("runPlan = %v, %v", hasErrors, err)
	}
	var doc struct {
		Diagnostics []any `json:"diagnostics"`
		Steps       []struct {
			ID      int             `json:"id"`
			Phase   string          `json:"phase"`
			Kind    string          `json:"kind"`
			Text    string          `json:"text"`
			Range   json.RawMessage `json:"range"`
			Key     string          `json:"key"`
			Parents []int           `json:"parents"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if doc.Diagnostics == nil || len(doc.Diagnostics) != 0 {
		t.Errorf("diagnostics = %v", doc.Diagnostics)
	}
	if !strings.Contains(out.String(), `"diagnostics":[]`) || !strings.Contains(out.String(), `"parents":[]`) {
		t.Errorf("empty lists must be [] not null: %s", out.String())
	}
	if len(doc.Steps) != 9 {
		t.Fatalf("%d steps, want 2+7", len(doc.Steps))
	}
	s := doc.Steps[3]
	if s.ID != 4 || s.Phase != "recipe" || s.Kind != "RUN" || s.Text != "RUN echo hi" || !strings.HasPrefix(s.Key, "sha256:") || len(s.Parents) != 1 || s.Parents[0] != 3 {
		t.Errorf("step 4 = %+v", s)
	}
	if !strings.Contains(string(s.Range), `"start":{"line":1,"column":1,"offset":0}`) {
		t.Errorf("range = %s", s.Range)
	}
	if string(doc.Steps[0].Range) != "null" || doc.Steps[0].Phase != "pre-build" || doc.Steps[8].Phase != "post-build" {
		t.Errorf("hidden step 1 = %+v", doc.Steps[0])
	}
}

func TestRunPlanMissingSource(t *testing.T) {
	var out, errOut bytes.Buffer
	cmd := &cobra.Command{}
	cmd.SetErr(&errOut)
	hasErrors, err := runPlan(cmd, &out, planFile("Wrennfile"), nil, planOptions{Context: planContext(t, false), Format: formatText})
	if err != nil || !hasErrors {
		t.Fatalf("runPlan = %v, %v; want errors", hasErrors, err)
	}
	if !strings.Contains(errOut.String(), `Wrennfile:2:1: error: copy source "app.txt" not found in the build context [copy-source-missing]`) {
		t.Errorf("stderr = %s", errOut.String())
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.HasPrefix(lines[0], "STEP") || !strings.Contains(lines[0], "PHASE") || !strings.Contains(lines[0], "KEY") || !strings.Contains(lines[0], "INSTRUCTION") {
		t.Errorf("header = %q", lines[0])
	}
	if !strings.Contains(out.String(), "RUN echo hi") || !strings.Contains(out.String(), "9 steps") {
		t.Errorf("table = %s", out.String())
	}
}

func TestRunPlanBadContext(t *testing.T) {
	cmd := &cobra.Command{}
	_, err := runPlan(cmd, &bytes.Buffer{}, planFile("Wrennfile"), nil, planOptions{Context: filepath.Join(t.TempDir(), "nope"), Format: formatText})
	if err == nil || !strings.Contains(err.Error(), "open build context: stat ") {
		t.Errorf("err = %v", err)
	}
}
