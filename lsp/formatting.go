package lsp

import (
	"context"
	"encoding/json"

	"go.lsp.dev/protocol"

	"wrenn.dev/wrenn/lang/format"
)

// formatting replaces the whole document with `wrenn fmt`'s output. A file
// with parse errors gets no edits (format.Source refuses it): formatting
// on save must never scramble a half-typed line.
func (s *server) formatting(ctx context.Context, raw json.RawMessage) (any, error) {
	var p protocol.DocumentFormattingParams
	if err := decode(raw, &p); err != nil {
		return nil, err
	}
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	out, err := format.Source(d.name, []byte(d.text))
	if err != nil {
		s.log.Printf("format %s: %v", d.name, err)
		return []protocol.TextEdit{}, nil
	}
	if string(out) == d.text {
		return []protocol.TextEdit{}, nil
	}
	return []protocol.TextEdit{{Range: d.m.span(0, len(d.text)), NewText: string(out)}}, nil
}
