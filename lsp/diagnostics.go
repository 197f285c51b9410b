package lsp

import (
	"go.lsp.dev/protocol"

	"wrenn.dev/wrenn/lang"
)

// toProtocolDiagnostics converts d's diagnostics to LSP ones, never nil
// (an empty list is how a client learns the problems are gone).
func toProtocolDiagnostics(d *document) []protocol.Diagnostic {
	out := make([]protocol.Diagnostic, 0, len(d.diags))
	for _, x := range d.diags {
		pd := protocol.Diagnostic{
			Range:    d.m.rangeOf(x.Range),
			Severity: severity(x.Severity),
			Source:   "wrenn",
			Message:  x.Message,
		}
		if x.Detail != "" {
			pd.Message += "\n" + x.Detail
		}
		if x.Code != "" {
			pd.Code = x.Code
			if href := ruleDocURL(x.Code); href != "" {
				pd.CodeDescription = &protocol.CodeDescription{Href: protocol.URI(href)}
			}
		}
		for _, r := range x.Related {
			if r.Range.File != "" && r.Range.File != d.name {
				continue // only this document's positions can be mapped
			}
			pd.RelatedInformation = append(pd.RelatedInformation, protocol.DiagnosticRelatedInformation{
				Location: protocol.Location{URI: d.uri, Range: d.m.rangeOf(r.Range)},
				Message:  r.Message,
			})
		}
		out = append(out, pd)
	}
	return out
}

func severity(s lang.Severity) protocol.DiagnosticSeverity {
	switch s {
	case lang.SeverityError:
		return protocol.DiagnosticSeverityError
	case lang.SeverityWarning:
		return protocol.DiagnosticSeverityWarning
	}
	return protocol.DiagnosticSeverityInformation
}
