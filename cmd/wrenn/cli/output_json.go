package cli

import (
	"encoding/json"
	"io"

	"wrenn.dev/wrenn/lang"
)

// jsonReport is the JSON format's document, a contract other tools depend
// on (SPEC.md "Diagnostics"):
//
//	{"diagnostics":[{"severity":"error","code":"…","message":"…","detail":"…",
//	  "range":{"file":"…","start":{"line":1,"column":1,"offset":0},"end":{…}}}]}
//
// Lines and columns are 1-based, columns count bytes, offsets are 0-based
// and the end is exclusive. "detail" and "related" are left out when empty.
// The list is [] rather than null when there is nothing to report, so a
// consumer can always iterate it.
type jsonReport struct {
	Diagnostics lang.Diagnostics `json:"diagnostics"`
}

// writeJSON prints all diagnostics as one JSON document on one line.
func writeJSON(w io.Writer, diags lang.Diagnostics) error {
	if diags == nil {
		diags = lang.Diagnostics{}
	}
	enc := json.NewEncoder(w)
	// Messages quote shell text; "<" and "&" stay readable.
	enc.SetEscapeHTML(false)
	return enc.Encode(jsonReport{Diagnostics: diags})
}
