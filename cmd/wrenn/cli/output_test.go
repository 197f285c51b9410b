package cli

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"wrenn.dev/wrenn/lang"
)

// rng builds a range from byte offsets in src, computing lines and columns
// the way lang does (1-based, byte columns).
func rng(file, src string, start, end int) lang.Range {
	pos := func(off int) lang.Pos {
		line := 1 + strings.Count(src[:off], "\n")
		col := off - (strings.LastIndexByte(src[:off], '\n') + 1) + 1
		return lang.Pos{Line: line, Column: col, Offset: off}
	}
	return lang.Range{File: file, Start: pos(start), End: pos(end)}
}

func TestWriteText(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		diags func(src string) lang.Diagnostics
		want  string
	}{{
		name: "caret under range with detail",
		src:  "FROM minimal\nRUNN echo hi\n",
		diags: func(src string) lang.Diagnostics {
			return lang.Diagnostics{{Severity: lang.SeverityError, Code: "unknown-instruction", Message: `unknown instruction "RUNN"`, Detail: `did you mean "RUN"?`, Range: rng("W", src, 13, 17)}}
		},
		want: "W:2:1: error: unknown instruction \"RUNN\" [unknown-instruction]\n" +
			" 2 | RUNN echo hi\n" +
			"   | ^^^^\n" +
			"   = did you mean \"RUN\"?\n",
	}, {
		name: "tabs kept in the marker indent, wide gutter",
		src:  strings.Repeat("\n", 11) + "\tRUN  sudo x\n",
		diags: func(src string) lang.Diagnostics {
			i := strings.Index(src, "sudo")
			return lang.Diagnostics{{Severity: lang.SeverityWarning, Code: "sudo-as-root", Message: "sudo while the user is root", Range: rng("W", src, i, i+4)}}
		},
		want: "W:12:7: warning: sudo while the user is root [sudo-as-root]\n" +
			" 12 | \tRUN  sudo x\n" +
			"    | \t     ^^^^\n",
	}, {
		name: "multi-line range underlines its first line only",
		src:  "RUN echo a \\\n  && echo b\n",
		diags: func(src string) lang.Diagnostics {
			return lang.Diagnostics{{Severity: lang.SeverityInfo, Code: "x", Message: "m", Range: rng("W", src, 4, len(src)-1)}}
		},
		want: "W:1:5: info: m [x]\n" +
			" 1 | RUN echo a \\\n" +
			"   |     ^^^^^^^^\n",
	}, {
		name: "utf-8 counted in characters, empty range gets one caret",
		src:  "ENV GRÜSSE=hallo\r\n",
		diags: func(src string) lang.Diagnostics {
			i := strings.Index(src, "=")
			return lang.Diagnostics{
				{Severity: lang.SeverityWarning, Code: "a", Message: "name", Range: rng("W", src, 4, i)},
				{Severity: lang.SeverityError, Code: "b", Message: "at end", Range: rng("W", src, len(src)-2, len(src)-2)},
			}
		},
		want: "W:1:5: warning: name [a]\n" +
			" 1 | ENV GRÜSSE=hallo\n" +
			"   |     ^^^^^^\n" +
			"W:1:18: error: at end [b]\n" +
			" 1 | ENV GRÜSSE=hallo\n" +
			"   |                 ^\n",
	}, {
		name: "related places and multi-line detail",
		src:  "FROM a AS x\nFROM b AS x\n",
		diags: func(src string) lang.Diagnostics {
			return lang.Diagnostics{{
				Severity: lang.SeverityError, Code: "duplicate-stage", Message: `stage "x" defined twice`,
				Detail:  "stage names must be unique\nrename one of them",
				Range:   rng("W", src, 22, 23),
				Related: []lang.Related{{Message: "first defined here", Range: rng("W", src, 10, 11)}},
			}}
		},
		want: "W:2:11: error: stage \"x\" defined twice [duplicate-stage]\n" +
			" 2 | FROM b AS x\n" +
			"   |           ^\n" +
			"   = stage names must be unique\n" +
			"     rename one of them\n" +
			"   = W:1:11: first defined here\n",
	}, {
		name: "no line: whole-file diagnostic without excerpt",
		src:  "RUN x\n",
		diags: func(string) lang.Diagnostics {
			return lang.Diagnostics{{Severity: lang.SeverityError, Code: "empty", Message: "m", Range: lang.Range{File: "W"}}}
		},
		want: "W: error: m [empty]\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			r := &diagReport{Diagnostics: tt.diags(tt.src), Sources: sourceSet{"W": []byte(tt.src)}, Files: 1}
			if err := writeText(&buf, r, false); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestWriteTextWithoutSource(t *testing.T) {
	d := lang.Diagnostic{Severity: lang.SeverityError, Code: "c", Message: "m", Detail: "d", Range: lang.Range{File: "gone", Start: lang.Pos{Line: 3, Column: 2, Offset: 40}}}
	var buf bytes.Buffer
	if err := writeText(&buf, &diagReport{Diagnostics: lang.Diagnostics{d}}, false); err != nil {
		t.Fatal(err)
	}
	if want := "gone:3:2: error: m [c]\n   = d\n"; buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func TestWriteTextOffsetOutsideSourceFallsBackToLine(t *testing.T) {
	src := "a\nbcd\n"
	d := lang.Diagnostic{Severity: lang.SeverityError, Code: "c", Message: "m", Range: lang.Range{File: "W", Start: lang.Pos{Line: 2, Column: 2, Offset: 99}, End: lang.Pos{Line: 2, Column: 3, Offset: 100}}}
	var buf bytes.Buffer
	if err := writeText(&buf, &diagReport{Diagnostics: lang.Diagnostics{d}, Sources: sourceSet{"W": []byte(src)}}, false); err != nil {
		t.Fatal(err)
	}
	if want := "W:2:2: error: m [c]\n 2 | bcd\n   |  ^^\n"; buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestWriteTextColorOnlyAddsStyles(t *testing.T) {
	src := "RUNN x\n"
	r := &diagReport{Diagnostics: lang.Diagnostics{{Severity: lang.SeverityError, Code: "c", Message: "m", Detail: "d", Range: rng("W", src, 0, 4)}}, Sources: sourceSet{"W": []byte(src)}}
	var plain, colored bytes.Buffer
	if err := writeText(&plain, r, false); err != nil {
		t.Fatal(err)
	}
	if err := writeText(&colored, r, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(colored.String(), ansiRed+"error:"+ansiReset) {
		t.Errorf("coloured output lacks a red severity: %q", colored.String())
	}
	if strings.Contains(plain.String(), "\x1b") {
		t.Errorf("plain output has escapes: %q", plain.String())
	}
	if got := ansiRE.ReplaceAllString(colored.String(), ""); got != plain.String() {
		t.Errorf("coloured output without escapes differs:\n%q\n%q", got, plain.String())
	}
}

func TestUseColor(t *testing.T) {
	var buf bytes.Buffer
	for _, tt := range []struct {
		mode, noColor string
		want          bool
	}{
		{"always", "", true},
		{"always", "1", true}, // an explicit flag beats the environment
		{"never", "", false},
		{"auto", "", false}, // a buffer is not a terminal
	} {
		t.Setenv("NO_COLOR", tt.noColor)
		got, err := useColor(tt.mode, &buf)
		if err != nil || got != tt.want {
			t.Errorf("useColor(%q) NO_COLOR=%q = %v, %v; want %v", tt.mode, tt.noColor, got, err, tt.want)
		}
	}
	if _, err := useColor("sometimes", &buf); err == nil || !strings.Contains(err.Error(), `unknown --color "sometimes"`) {
		t.Errorf("bad mode: err = %v", err)
	}
}

func TestSummaryLine(t *testing.T) {
	e := lang.Diagnostic{Severity: lang.SeverityError}
	w := lang.Diagnostic{Severity: lang.SeverityWarning}
	i := lang.Diagnostic{Severity: lang.SeverityInfo}
	for _, tt := range []struct {
		diags lang.Diagnostics
		files int
		want  string
	}{
		{nil, 1, "no problems in 1 file"},
		{nil, 3, "no problems in 3 files"},
		{lang.Diagnostics{e, w, e}, 1, "2 errors, 1 warning in 1 file"},
		{lang.Diagnostics{w, w, i}, 2, "2 warnings, 1 info in 2 files"},
		{lang.Diagnostics{e, i, i}, 1, "1 error, 2 infos in 1 file"},
	} {
		if got := summaryLine(tt.diags, tt.files); got != tt.want {
			t.Errorf("summaryLine = %q, want %q", got, tt.want)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := writeJSON(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "{\"diagnostics\":[]}\n" {
		t.Errorf("empty report = %q, want [] not null", buf.String())
	}

	src := "RUN a && b\n"
	d := lang.Diagnostic{Severity: lang.SeverityWarning, Code: "c", Message: "uses <&>", Detail: "d", Range: rng("W", src, 4, 10)}
	buf.Reset()
	if err := writeJSON(&buf, lang.Diagnostics{d}); err != nil {
		t.Fatal(err)
	}
	want := `{"diagnostics":[{"severity":"warning","code":"c","message":"uses <&>","detail":"d","range":{"file":"W","start":{"line":1,"column":5,"offset":4},"end":{"line":1,"column":11,"offset":10}}}]}` + "\n"
	if buf.String() != want {
		t.Errorf("got  %s\nwant %s", buf.String(), want)
	}
	var back jsonReport
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Diagnostics) != 1 || back.Diagnostics[0].Severity != d.Severity || back.Diagnostics[0].Range != d.Range {
		t.Errorf("round trip lost data: %+v", back)
	}
}
