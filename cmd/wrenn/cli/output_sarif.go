package cli

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"wrenn.dev/wrenn/lang"
)

// SARIF 2.1.0 (OASIS), the subset GitHub code scanning reads: one run, the
// tool with every rule wrenn can report, one result per diagnostic.
// https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	// wrennURI is the tool's informationUri.
	wrennURI = "https://wrenn.dev"
)

// ruleInfo describes one diagnostic code for SARIF's rule table.
type ruleInfo struct {
	ID       string // the kebab-case code
	Short    string // one line
	Full     string // optional longer text
	HelpURI  string
	Severity lang.Severity // default severity
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool       sarifTool     `json:"tool"`
	ColumnKind string        `json:"columnKind"`
	Results    []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string      `json:"id"`
	Name                 string      `json:"name"`
	ShortDescription     sarifText   `json:"shortDescription"`
	FullDescription      *sarifText  `json:"fullDescription,omitempty"`
	HelpURI              string      `json:"helpUri,omitempty"`
	DefaultConfiguration sarifConfig `json:"defaultConfiguration"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
	Related   []sarifLocation `json:"relatedLocations,omitempty"`
}

type sarifLocation struct {
	ID               *int                  `json:"id,omitempty"`
	PhysicalLocation sarifPhysicalLocation `json:"physicalLocation"`
	Message          *sarifText            `json:"message,omitempty"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion          `json:"region,omitempty"`
}

type sarifArtifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

// sarifRegion columns count Unicode code points (run.columnKind), which
// GitHub and VS Code's SARIF viewer map to characters; lang's byte columns
// are converted with the source.
type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
	EndLine     int `json:"endLine"`
	EndColumn   int `json:"endColumn"`
}

// sarifLevel maps a severity to SARIF's level names.
func sarifLevel(s lang.Severity) string {
	switch s {
	case lang.SeverityError:
		return "error"
	case lang.SeverityWarning:
		return "warning"
	}
	return "note"
}

// writeSARIF prints r as a SARIF 2.1.0 log. Every rule in rules is listed
// (code scanning shows rules that found nothing too); a code that is not in
// rules gets a generic entry so every result's ruleIndex is valid.
func writeSARIF(w io.Writer, r *diagReport, rules []ruleInfo) error {
	driver := sarifDriver{
		Name:           "wrenn",
		Version:        versionString(),
		InformationURI: wrennURI,
		Rules:          []sarifRule{},
	}
	index := map[string]int{}
	addRule := func(ri ruleInfo) int {
		if i, ok := index[ri.ID]; ok {
			return i
		}
		sr := sarifRule{
			ID:                   ri.ID,
			Name:                 sarifRuleName(ri.ID),
			ShortDescription:     sarifText{Text: ri.Short},
			HelpURI:              ri.HelpURI,
			DefaultConfiguration: sarifConfig{Level: sarifLevel(ri.Severity)},
		}
		if sr.ShortDescription.Text == "" {
			sr.ShortDescription.Text = ri.ID
		}
		if ri.Full != "" {
			sr.FullDescription = &sarifText{Text: ri.Full}
		}
		index[ri.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sr)
		return index[ri.ID]
	}
	for _, ri := range rules {
		addRule(ri)
	}

	results := []sarifResult{}
	for _, d := range r.Diagnostics {
		code := d.Code
		if code == "" {
			code = "wrenn"
		}
		idx := addRule(ruleInfo{ID: code, Short: code, HelpURI: wrennURI + "/docs/rules/" + code, Severity: d.Severity})
		msg := d.Message
		if d.Detail != "" {
			msg += "\n" + d.Detail
		}
		res := sarifResult{
			RuleID:    code,
			RuleIndex: idx,
			Level:     sarifLevel(d.Severity),
			Message:   sarifText{Text: msg},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical(d.Range, r.Sources[d.Range.File])}},
		}
		for i, rel := range d.Related {
			id := i + 1
			res.Related = append(res.Related, sarifLocation{
				ID:               &id,
				PhysicalLocation: sarifPhysical(rel.Range, r.Sources[rel.Range.File]),
				Message:          &sarifText{Text: rel.Message},
			})
		}
		results = append(results, res)
	}

	log := sarifLog{
		Schema:  sarifSchema,
		Version: sarifVersion,
		Runs: []sarifRun{{
			Tool:       sarifTool{Driver: driver},
			ColumnKind: "unicodeCodePoints",
			Results:    results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// sarifRuleName turns "apt-get-no-yes" into "AptGetNoYes": SARIF's name is
// an identifier-like label, the id stays the stable code.
func sarifRuleName(code string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(code, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func sarifPhysical(r lang.Range, src []byte) sarifPhysicalLocation {
	pl := sarifPhysicalLocation{ArtifactLocation: sarifArtifact(r.File)}
	if r.Start.Line > 0 {
		end := r.End
		if end.Line < r.Start.Line || (end.Line == r.Start.Line && end.Column < r.Start.Column) {
			end = r.Start
		}
		pl.Region = &sarifRegion{
			StartLine:   r.Start.Line,
			StartColumn: codePointColumn(src, r.Start),
			EndLine:     end.Line,
			EndColumn:   codePointColumn(src, end),
		}
	}
	return pl
}

// sarifArtifact makes a file name a URI: relative paths stay relative to
// the repository root (%SRCROOT%, what code scanning resolves against),
// absolute ones become file URIs.
func sarifArtifact(name string) sarifArtifactLocation {
	slashed := filepath.ToSlash(name)
	if filepath.IsAbs(name) {
		return sarifArtifactLocation{URI: (&url.URL{Scheme: "file", Path: slashed}).String()}
	}
	slashed = strings.TrimPrefix(slashed, "./")
	return sarifArtifactLocation{URI: (&url.URL{Path: slashed}).String(), URIBaseID: "%SRCROOT%"}
}

// codePointColumn converts p's byte column to a 1-based code-point column
// using the source; without the source (or with a position that does not
// fit it) the byte column is returned.
func codePointColumn(src []byte, p lang.Pos) int {
	col := max(p.Column, 1)
	lineStart := p.Offset - (col - 1)
	if src == nil || lineStart < 0 || p.Offset > len(src) {
		return col
	}
	return utf8.RuneCount(src[lineStart:p.Offset]) + 1
}
