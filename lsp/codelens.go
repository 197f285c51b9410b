package lsp

import (
	"context"
	"encoding/json"
	"fmt"

	"go.lsp.dev/protocol"

	"wrenn.dev/wrenn/lang"
)

// cacheProbe says which steps of a file have their layer in the cache. The
// lens needs only this, so the cache can be read however the cache package
// allows without blocking a build (see newCacheProbe).
type cacheProbe interface {
	// Steps returns, per instruction that makes a step, whether its layer
	// key is cached. err is shown once, on the first line, when the cache
	// cannot be read.
	Steps(ctx context.Context, f *lang.File) ([]stepStatus, error)
}

// stepStatus is one step's cache state.
type stepStatus struct {
	Instr  lang.Range // the instruction that makes the step
	Key    string
	Cached bool
}

// codeLens shows "cached" / "not cached" above each step.
func (s *server) codeLens(ctx context.Context, raw json.RawMessage) (any, error) {
	var p protocol.CodeLensParams
	if err := decode(raw, &p); err != nil {
		return nil, err
	}
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	probe := s.lens
	s.mu.Unlock()
	lenses := []protocol.CodeLens{}
	if probe == nil || d.diags.HasErrors() {
		return lenses, nil
	}
	steps, err := probe.Steps(ctx, d.file)
	if err != nil {
		return []protocol.CodeLens{{
			Range:   d.m.span(0, 0),
			Command: &protocol.Command{Title: "layer cache: " + err.Error()},
		}}, nil
	}
	for _, st := range steps {
		title := "not cached"
		if st.Cached {
			title = "cached"
		}
		if len(st.Key) > 19 {
			title += fmt.Sprintf(" · %s", st.Key[:19])
		}
		r := d.m.rangeOf(st.Instr)
		r.End = r.Start
		lenses = append(lenses, protocol.CodeLens{Range: r, Command: &protocol.Command{Title: title}})
	}
	return lenses, nil
}
