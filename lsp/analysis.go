package lsp

import (
	"strings"

	"wrenn.dev/wrenn/lang"
	"wrenn.dev/wrenn/lang/lint"
)

// This file is the server's only contact with the parser, the linter and
// their documentation tables.

// analyze parses and lints one document, exactly as `wrenn compile` does.
func analyze(name string, src []byte, cfg lint.Config) (*lang.File, lang.Diagnostics) {
	return lint.Run(name, src, cfg)
}

// ruleDocURL is the documentation page of a diagnostic code, or "" for
// codes that are not lint rules (parse errors).
func ruleDocURL(code string) string {
	if r := lint.Lookup(code); r != nil {
		return r.URL()
	}
	return ""
}

// instrDoc documents one instruction for hover and completion.
type instrDoc struct {
	Kind    lang.Kind
	Syntax  string // e.g. "RUN [--timeout=D] <cmd>"
	Summary string // markdown
	Flags   []flagDoc
}

// flagDoc documents one flag.
type flagDoc struct {
	Name    string // without "--"
	Value   string // placeholder for the value, "" for a bare flag
	Summary string
}

// docFor returns the documentation of an instruction kind, from
// lang.InstructionDocs (the source SPEC.md's instruction sections are
// checked against).
func docFor(k lang.Kind) (instrDoc, bool) {
	d, ok := lang.InstructionDocs[k]
	if !ok {
		return instrDoc{}, false
	}
	out := instrDoc{Kind: k, Syntax: d.Syntax, Summary: strings.TrimSpace(d.Summary + "\n\n" + d.Body)}
	for _, f := range d.Flags {
		fd := flagDoc{Name: f.Name, Summary: f.Doc}
		if f.Value != "" {
			fd.Value = "<" + f.Value + ">"
		}
		if f.Default != "" {
			fd.Summary += " Default: " + f.Default + "."
		}
		out.Flags = append(out.Flags, fd)
	}
	return out, true
}

// flagDocFor returns the documentation of flag name on kind k.
func flagDocFor(k lang.Kind, name string) (flagDoc, bool) {
	doc, ok := docFor(k)
	if !ok {
		return flagDoc{}, false
	}
	for _, f := range doc.Flags {
		if f.Name == name {
			return f, true
		}
	}
	return flagDoc{}, false
}

// The lint rules the server has quick fixes for.
const (
	codeKeywordCasing = "keyword-casing"
	codeAptMissingYes = "apt-missing-yes"
	codeRunCd         = "run-cd"
)
