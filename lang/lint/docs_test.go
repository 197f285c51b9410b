package lint

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const repoRoot = "../.."

// exampleBlock returns the first ```wrennfile block after heading.
func exampleBlock(page, heading string) (string, bool) {
	i := strings.Index(page, "\n"+heading+"\n")
	if i < 0 {
		return "", false
	}
	rest := page[i:]
	start := strings.Index(rest, "```wrennfile\n")
	if start < 0 {
		return "", false
	}
	rest = rest[start+len("```wrennfile\n"):]
	end := strings.Index(rest, "```")
	if end < 0 {
		return "", false
	}
	return rest[:end], true
}

// TestRuleDocs checks that every rule has a page with the required parts,
// that its bad example triggers the rule and its good example does not,
// and that no page is left without a rule.
func TestRuleDocs(t *testing.T) {
	for _, r := range Rules {
		t.Run(r.Code, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(repoRoot, r.DocPath()))
			if err != nil {
				t.Fatalf("rule has no doc page: %v", err)
			}
			page := string(data)
			for _, h := range []string{"## What it catches", "## Why", "## Bad", "## Good", "## Suppressing it"} {
				if !strings.Contains(page, "\n"+h+"\n") {
					t.Errorf("%s lacks %q", r.DocPath(), h)
				}
			}
			if want := "Default severity: **" + r.Severity.String() + "**."; !strings.Contains(page, want) {
				t.Errorf("%s does not say %q", r.DocPath(), want)
			}
			if !strings.HasPrefix(page, "# `"+r.Code+"`") {
				t.Errorf("%s does not start with its code as title", r.DocPath())
			}
			for _, ex := range []struct {
				heading string
				fire    bool
			}{{"## Bad", true}, {"## Good", false}} {
				src, ok := exampleBlock(page, ex.heading)
				if !ok {
					t.Errorf("%s: no ```wrennfile block under %s", r.DocPath(), ex.heading)
					continue
				}
				_, ds := Run("example", []byte(src), Config{})
				fired := false
				for _, d := range ds {
					fired = fired || d.Code == r.Code
				}
				if fired != ex.fire {
					t.Errorf("%s example: rule fired = %v, want %v\n%s\n%s", ex.heading, fired, ex.fire, src, formatDiags(ds))
				}
			}
		})
	}
	pages, _ := filepath.Glob(filepath.Join(repoRoot, "docs/rules/*.md"))
	for _, p := range pages {
		if Lookup(strings.TrimSuffix(filepath.Base(p), ".md")) == nil {
			t.Errorf("orphan doc page %s: no rule has this code", p)
		}
	}
}

// TestSpecRuleTable checks that SPEC.md section 3 lists every rule with its
// severity, summary and page, and nothing else.
func TestSpecRuleTable(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "SPEC.md"))
	if err != nil {
		t.Fatal(err)
	}
	spec := string(data)
	start := strings.Index(spec, "\n## 3. ")
	if start < 0 {
		t.Fatal("SPEC.md has no section 3")
	}
	sec := spec[start+1:]
	if end := strings.Index(sec, "\n## 4. "); end >= 0 {
		sec = sec[:end]
	}
	row := regexp.MustCompile("(?m)^\\| \\[`([a-z0-9-]+)`\\]\\(docs/rules/([a-z0-9-]+)\\.md\\) \\| (error|warning|info) \\| (.*) \\|$")
	rows := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(sec, -1) {
		rows[m[1]] = m
	}
	for _, r := range Rules {
		m, ok := rows[r.Code]
		if !ok {
			t.Errorf("SPEC.md section 3 has no row for %s", r.Code)
			continue
		}
		if m[2] != r.Code || m[3] != r.Severity.String() || m[4] != r.Summary {
			t.Errorf("SPEC.md row for %s is out of date:\n got %s\nwant | [`%s`](docs/rules/%s.md) | %s | %s |", r.Code, m[0], r.Code, r.Code, r.Severity, r.Summary)
		}
		delete(rows, r.Code)
	}
	for code := range rows {
		t.Errorf("SPEC.md section 3 lists %s, which is not a rule", code)
	}
}
