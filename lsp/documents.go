package lsp

import (
	"context"
	"encoding/json"
	"path"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"wrenn.dev/wrenn/lang"
	"wrenn.dev/wrenn/lang/lint"
)

// document is one open file. Its analysis is redone lazily: a change only
// marks it stale, and the next request or the debounce timer re-analyses.
type document struct {
	uri     protocol.DocumentURI
	name    string // as reported in diagnostics: the file's path
	version int32
	text    string

	stale bool
	m     *mapper
	file  *lang.File
	diags lang.Diagnostics
}

// analysed returns d with its parse, diagnostics and mapper up to date.
func (d *document) analysed(cfg lint.Config) *document {
	if d.stale || d.m == nil {
		d.m = newMapper(d.text)
		d.file, d.diags = analyze(d.name, []byte(d.text), cfg)
		d.stale = false
	}
	return d
}

// docName is the name a document's diagnostics report: its file path for
// file: URIs, else the URI's last element.
func docName(u protocol.DocumentURI) string {
	if p := uri.URI(u); len(p) > 7 && p[:7] == "file://" {
		return p.Filename()
	}
	return path.Base(string(u))
}

// doc returns the analysed open document u, or an InvalidParams error.
func (s *server) doc(u protocol.DocumentURI) (*document, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[u]
	if !ok {
		return nil, errUnknownDoc(u)
	}
	return d.analysed(s.lintConfig()), nil
}

// docAt decodes the document and position every position request
// (hover, completion, definition) carries, and returns the analysed
// document and the byte offset of the position.
func (s *server) docAt(raw json.RawMessage) (*document, int, error) {
	var p protocol.TextDocumentPositionParams
	if err := decode(raw, &p); err != nil {
		return nil, 0, err
	}
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, 0, err
	}
	return d, d.m.offset(p.Position), nil
}

func (s *server) didOpen(ctx context.Context, raw json.RawMessage) (any, error) {
	var p protocol.DidOpenTextDocumentParams
	if err := decode(raw, &p); err != nil {
		return nil, err
	}
	u := p.TextDocument.URI
	s.mu.Lock()
	s.docs[u] = &document{uri: u, name: docName(u), version: p.TextDocument.Version, text: p.TextDocument.Text, stale: true}
	s.mu.Unlock()
	s.publish(ctx, u)
	return nil, nil
}

func (s *server) didChange(ctx context.Context, raw json.RawMessage) (any, error) {
	var p protocol.DidChangeTextDocumentParams
	if err := decode(raw, &p); err != nil {
		return nil, err
	}
	u := p.TextDocument.URI
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[u]
	if !ok {
		return nil, errUnknownDoc(u)
	}
	// Sync is Full (see initialize): the last change holds the whole text.
	if n := len(p.ContentChanges); n > 0 {
		d.text = p.ContentChanges[n-1].Text
	}
	d.version = p.TextDocument.Version
	d.stale = true
	if t := s.timers[u]; t != nil {
		t.Stop()
	}
	s.timers[u] = time.AfterFunc(s.opts.Debounce, func() { s.publish(context.Background(), u) })
	return nil, nil
}

func (s *server) didClose(ctx context.Context, raw json.RawMessage) (any, error) {
	var p protocol.DidCloseTextDocumentParams
	if err := decode(raw, &p); err != nil {
		return nil, err
	}
	u := p.TextDocument.URI
	s.mu.Lock()
	delete(s.docs, u)
	if t := s.timers[u]; t != nil {
		t.Stop()
		delete(s.timers, u)
	}
	s.mu.Unlock()
	// A closed file's problems leave the editor's problem list.
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	return nil, s.conn.Notify(ctx, protocol.MethodTextDocumentPublishDiagnostics,
		&protocol.PublishDiagnosticsParams{URI: u, Diagnostics: []protocol.Diagnostic{}})
}

// publish sends the current diagnostics of u (an empty list clears them).
func (s *server) publish(ctx context.Context, u protocol.DocumentURI) {
	// pubMu keeps compute-and-send atomic, so an older version's
	// diagnostics can never overtake a newer one's on the wire.
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	s.mu.Lock()
	d, ok := s.docs[u]
	if !ok || s.shutdown {
		s.mu.Unlock()
		return
	}
	d.analysed(s.lintConfig())
	params := &protocol.PublishDiagnosticsParams{
		URI:         u,
		Version:     uint32(d.version),
		Diagnostics: toProtocolDiagnostics(d),
	}
	delete(s.timers, u)
	s.mu.Unlock()
	if err := s.conn.Notify(ctx, protocol.MethodTextDocumentPublishDiagnostics, params); err != nil {
		s.log.Printf("publish diagnostics: %v", err)
	}
}

// lintConfig is the lint configuration every document is checked with:
// the file's own directives do the rest, as with `wrenn compile`.
func (s *server) lintConfig() lint.Config {
	return lint.Config{ContextDir: s.opts.Context}
}
