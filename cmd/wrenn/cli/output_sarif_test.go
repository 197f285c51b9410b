package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"wrenn.dev/wrenn/lang"
)

// checkSARIF validates a SARIF log against what the SARIF 2.1.0 schema
// requires and what GitHub code scanning reads (docs: "SARIF support for
// code scanning"): version and runs; tool.driver.name; rules with id and
// shortDescription.text; results with message.text, a ruleId whose
// ruleIndex points at the rule with that id, a level from the SARIF enum,
// and physical locations with a uri and a 1-based region whose end is not
// before its start. It returns every problem found.
func checkSARIF(data []byte) []string {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	var log map[string]any
	if err := json.Unmarshal(data, &log); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	if log["version"] != "2.1.0" {
		bad("version = %v, want 2.1.0", log["version"])
	}
	if s, _ := log["$schema"].(string); s == "" {
		bad("no $schema")
	}
	runs, _ := log["runs"].([]any)
	if len(runs) != 1 {
		return append(probs, fmt.Sprintf("%d runs, want 1", len(runs)))
	}
	run, _ := runs[0].(map[string]any)
	driver, _ := dig(run, "tool", "driver").(map[string]any)
	if driver == nil {
		return append(probs, "no tool.driver")
	}
	for _, k := range []string{"name", "version", "informationUri"} {
		if s, _ := driver[k].(string); s == "" {
			bad("tool.driver.%s missing", k)
		}
	}
	rulesRaw, ok := driver["rules"].([]any)
	if !ok {
		bad("tool.driver.rules is not an array")
	}
	var ruleIDs []string
	seen := map[string]bool{}
	for i, r := range rulesRaw {
		rule, _ := r.(map[string]any)
		id, _ := rule["id"].(string)
		if id == "" {
			bad("rule %d has no id", i)
		}
		if seen[id] {
			bad("rule %q listed twice", id)
		}
		seen[id] = true
		ruleIDs = append(ruleIDs, id)
		if s, _ := dig(rule, "shortDescription", "text").(string); s == "" {
			bad("rule %q has no shortDescription.text", id)
		}
		if s, _ := rule["name"].(string); s == "" {
			bad("rule %q has no name", id)
		}
		if s, _ := rule["helpUri"].(string); s == "" {
			bad("rule %q has no helpUri", id)
		}
		if lv, _ := dig(rule, "defaultConfiguration", "level").(string); !validLevel(lv) {
			bad("rule %q defaultConfiguration.level = %q", id, lv)
		}
	}
	results, ok := run["results"].([]any)
	if !ok {
		bad("results is not an array")
	}
	for i, r := range results {
		res, _ := r.(map[string]any)
		id, _ := res["ruleId"].(string)
		idx, isNum := res["ruleIndex"].(float64)
		if !isNum || int(idx) < 0 || int(idx) >= len(ruleIDs) || ruleIDs[int(idx)] != id {
			bad("result %d: ruleIndex %v does not point at rule %q", i, res["ruleIndex"], id)
		}
		if lv, _ := res["level"].(string); !validLevel(lv) {
			bad("result %d: level %q", i, lv)
		}
		if s, _ := dig(res, "message", "text").(string); s == "" {
			bad("result %d: no message.text", i)
		}
		locs, _ := res["locations"].([]any)
		if len(locs) == 0 {
			bad("result %d: no locations", i)
		}
		for _, l := range locs {
			pl, _ := dig(l, "physicalLocation").(map[string]any)
			if u, _ := dig(pl, "artifactLocation", "uri").(string); u == "" {
				bad("result %d: no artifactLocation.uri", i)
			}
			reg, _ := pl["region"].(map[string]any)
			if reg == nil {
				bad("result %d: no region", i)
				continue
			}
			n := func(k string) int { f, _ := reg[k].(float64); return int(f) }
			if n("startLine") < 1 || n("startColumn") < 1 || n("endLine") < n("startLine") ||
				(n("endLine") == n("startLine") && n("endColumn") < n("startColumn")) {
				bad("result %d: bad region %v", i, reg)
			}
		}
	}
	return probs
}

func validLevel(s string) bool {
	return s == "error" || s == "warning" || s == "note" || s == "none"
}

// dig walks nested JSON objects.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		if m == nil {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestWriteSARIF(t *testing.T) {
	src := "FROM a AS x\nRUN echo ÄÖ; sudo y\n"
	sudo := bytes.Index([]byte(src), []byte("sudo"))
	r := &diagReport{
		Sources: sourceSet{"dir/Wrennfile": []byte(src)},
		Diagnostics: lang.Diagnostics{
			{Severity: lang.SeverityWarning, Code: "sudo-as-root", Message: "sudo while root", Detail: "drop sudo", Range: rng("dir/Wrennfile", src, sudo, sudo+4),
				Related: []lang.Related{{Message: "user is root here", Range: rng("dir/Wrennfile", src, 0, 4)}}},
			{Severity: lang.SeverityError, Code: "not-in-rules", Message: "m", Range: rng("/abs/W", "x", 0, 1)},
			{Severity: lang.SeverityInfo, Code: "style", Message: "i", Range: rng("dir/Wrennfile", src, 0, 4)},
		},
	}
	rules := []ruleInfo{
		{ID: "unused-rule", Short: "never reported", HelpURI: "https://wrenn.dev/docs/rules/unused-rule", Severity: lang.SeverityWarning},
		{ID: "sudo-as-root", Short: "sudo while root", Full: "long", HelpURI: "https://wrenn.dev/docs/rules/sudo-as-root", Severity: lang.SeverityWarning},
		{ID: "style", Short: "style", HelpURI: "https://wrenn.dev/docs/rules/style", Severity: lang.SeverityInfo},
	}
	var buf bytes.Buffer
	if err := writeSARIF(&buf, r, rules); err != nil {
		t.Fatal(err)
	}
	for _, p := range checkSARIF(buf.Bytes()) {
		t.Error(p)
	}

	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if got := len(run.Tool.Driver.Rules); got != 4 {
		t.Errorf("%d rules, want the 3 given plus not-in-rules", got)
	}
	if run.Tool.Driver.Rules[1].Name != "SudoAsRoot" || run.Tool.Driver.Rules[1].FullDescription == nil {
		t.Errorf("rule 1 = %+v", run.Tool.Driver.Rules[1])
	}
	if len(run.Results) != 3 {
		t.Fatalf("%d results, want 3", len(run.Results))
	}
	res := run.Results[0]
	if res.Level != "warning" || res.RuleIndex != 1 || res.Message.Text != "sudo while root\ndrop sudo" {
		t.Errorf("result 0 = %+v", res)
	}
	loc := res.Locations[0].PhysicalLocation
	if loc.ArtifactLocation != (sarifArtifactLocation{URI: "dir/Wrennfile", URIBaseID: "%SRCROOT%"}) {
		t.Errorf("artifact = %+v", loc.ArtifactLocation)
	}
	// "RUN echo ÄÖ; " is 13 characters but 15 bytes: columns count characters.
	if *loc.Region != (sarifRegion{StartLine: 2, StartColumn: 14, EndLine: 2, EndColumn: 18}) {
		t.Errorf("region = %+v", *loc.Region)
	}
	if len(res.Related) != 1 || res.Related[0].Message.Text != "user is root here" {
		t.Errorf("related = %+v", res.Related)
	}
	if got := run.Results[1].Locations[0].PhysicalLocation.ArtifactLocation.URI; got != "file:///abs/W" {
		t.Errorf("absolute path uri = %q", got)
	}
	if run.Results[1].Level != "error" || run.Results[2].Level != "note" {
		t.Errorf("levels = %q, %q", run.Results[1].Level, run.Results[2].Level)
	}
}

func TestWriteSARIFEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := writeSARIF(&buf, &diagReport{}, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range checkSARIF(buf.Bytes()) {
		t.Error(p)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"results": []`)) {
		t.Errorf("results should be [] not null:\n%s", buf.Bytes())
	}
}

func TestSARIFRuleName(t *testing.T) {
	for in, want := range map[string]string{"apt-get-no-yes": "AptGetNoYes", "x": "X", "a--b": "AB"} {
		if got := sarifRuleName(in); got != want {
			t.Errorf("sarifRuleName(%q) = %q, want %q", in, got, want)
		}
	}
}
