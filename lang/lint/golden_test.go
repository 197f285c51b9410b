package lint

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"wrenn.dev/wrenn/lang"
)

var update = flag.Bool("update", false, "rewrite the want section of golden files")

// formatDiags renders diagnostics as `wrenn compile` does, one per line,
// with the detail and related ranges indented below.
func formatDiags(ds lang.Diagnostics) string { return formatDiagsSrc(ds, nil) }

// formatDiagsSrc also shows the source text each range covers, so goldens
// pin exact end positions too.
func formatDiagsSrc(ds lang.Diagnostics, src []byte) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s: %s: %s [%s]\n", d.Range, d.Severity, d.Message, d.Code)
		if s, e := d.Range.Start.Offset, d.Range.End.Offset; src != nil && s <= e && e <= len(src) {
			fmt.Fprintf(&b, "    at %q\n", src[s:e])
		}
		if d.Detail != "" {
			fmt.Fprintf(&b, "    = %s\n", d.Detail)
		}
		for _, r := range d.Related {
			fmt.Fprintf(&b, "    related %s: %s\n", r.Range, r.Message)
		}
	}
	return b.String()
}

// goldenConfig reads the optional config section: `key=value` lines.
func goldenConfig(t *testing.T, data []byte) Config {
	var cfg Config
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		k, v, _ := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		switch k {
		case "":
		case "healthcheck":
			cfg.Healthcheck = v == "true"
		case "skip-pre-post":
			cfg.SkipPrePost = v == "true"
		case "context":
			cfg.ContextDir = v
		case "off":
			cfg.Off = append(cfg.Off, v)
		default:
			t.Fatalf("unknown config key %q", k)
		}
	}
	return cfg
}

// section is a `# bad` or `# good` block of a golden Wrennfile: every
// diagnostic of the rule under test must fall in a bad block, and every
// bad block must get at least one.
type section struct {
	good       bool
	start, end int // lines, 1-based, end exclusive
}

func sections(file string, src []byte) []section {
	whole := strings.HasPrefix(filepath.Base(file), "good")
	if whole || strings.HasPrefix(filepath.Base(file), "bad") {
		return []section{{good: whole, start: 1, end: 1 << 30}}
	}
	var out []section
	for i, line := range strings.Split(string(src), "\n") {
		l := strings.TrimSpace(line)
		bad, good := strings.HasPrefix(l, "# bad"), strings.HasPrefix(l, "# good")
		if !bad && !good {
			continue
		}
		if n := len(out); n > 0 {
			out[n-1].end = i + 1
		}
		out = append(out, section{good: good, start: i + 1, end: 1 << 30})
	}
	if len(out) > 0 {
		out[0].start = 1 // directives at the top belong to the first section
	}
	return out
}

// TestRuleGoldens lints every testdata/rules/<code>.txtar and compares the
// full output, and checks that the rule fires in the bad sections only.
func TestRuleGoldens(t *testing.T) {
	files, err := filepath.Glob("testdata/rules/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		code := strings.TrimSuffix(filepath.Base(path), ".txtar")
		seen[code] = true
		t.Run(code, func(t *testing.T) {
			if Lookup(code) == nil {
				t.Fatalf("golden %s names no rule (orphan): remove it or add the rule", path)
			}
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var cfg Config
			var got strings.Builder
			wantIdx := -1
			var goodSecs, badSecs int
			for i, f := range ar.Files {
				switch {
				case f.Name == "want":
					wantIdx = i
					continue
				case f.Name == "config":
					cfg = goldenConfig(t, f.Data)
				}
			}
			for _, f := range ar.Files {
				if f.Name == "want" || f.Name == "config" {
					continue
				}
				_, ds := Run(f.Name, f.Data, cfg)
				for _, d := range ds {
					r := d.Range
					if r.File != f.Name || r.Start.Offset < 0 || r.Start.Offset > r.End.Offset || r.End.Offset > len(f.Data) {
						t.Errorf("range outside the source: %s %+v", d.Error(), r)
					}
				}
				got.WriteString(formatDiagsSrc(ds, f.Data))
				secs := sections(f.Name, f.Data)
				hits := make([]int, len(secs))
				for _, d := range ds {
					if d.Code != code {
						continue
					}
					in := false
					for j, s := range secs {
						if d.Range.Start.Line >= s.start && d.Range.Start.Line < s.end {
							in = true
							hits[j]++
							if s.good {
								t.Errorf("%s fired in a good section: %s", code, d.Error())
							}
						}
					}
					if !in {
						t.Errorf("%s fired outside any # bad / # good section: %s", code, d.Error())
					}
				}
				for j, s := range secs {
					if s.good {
						goodSecs++
						continue
					}
					badSecs++
					if hits[j] == 0 {
						t.Errorf("%s: bad section at line %d got no %s diagnostic", f.Name, s.start, code)
					}
				}
			}
			if goodSecs == 0 || badSecs == 0 {
				t.Errorf("golden needs at least one bad and one good case (have %d bad, %d good)", badSecs, goodSecs)
			}
			if *update {
				if wantIdx < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "want"})
					wantIdx = len(ar.Files) - 1
				}
				ar.Files[wantIdx].Data = []byte(got.String())
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if wantIdx < 0 {
				t.Fatalf("no want section; run go test -update")
			}
			if want := string(ar.Files[wantIdx].Data); got.String() != want {
				t.Errorf("diagnostics differ (go test -update rewrites)\n--- got\n%s--- want\n%s", got.String(), want)
			}
		})
	}
	for _, r := range Rules {
		if !seen[r.Code] {
			t.Errorf("rule %s has no golden testdata/rules/%s.txtar", r.Code, r.Code)
		}
	}
}
