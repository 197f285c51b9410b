package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.lsp.dev/protocol"

	"wrenn.dev/wrenn/lang"
)

// definition jumps from a stage reference (`FROM x`, `COPY --from=x`) to
// the stage's `AS x`, and from a variable to the ENV or ARG that last set
// it before the reference.
func (s *server) definition(ctx context.Context, raw json.RawMessage) (any, error) {
	d, off, err := s.docAt(raw)
	if err != nil {
		return nil, err
	}
	r, ok := s.definitionAt(d, off)
	if !ok {
		return []protocol.Location{}, nil
	}
	return []protocol.Location{{URI: d.uri, Range: d.m.rangeOf(r)}}, nil
}

func (s *server) definitionAt(d *document, off int) (lang.Range, bool) {
	if in, _ := instrAt(d.file, off); in != nil {
		n := in.Node()
		ref := ""
		switch x := in.(type) {
		case *lang.FromInstr:
			if inRange(x.Base.Range, off) {
				ref = x.Base.Value
			}
		case *lang.CopyInstr:
			if f := n.Flag("from"); f != nil && inRange(f.ValueRange, off) {
				ref = f.Value
			}
		}
		if ref != "" {
			if st := stageNamed(d.file, ref, n.Range.Start.Offset); st != nil && st.From.Name != nil {
				return st.From.Name.Range, true
			}
		}
	}
	if ref, ok := varAt(d.text, off); ok {
		if v, ok := varsInScope(d.file, ref.Start, nil)[ref.Name]; ok {
			return v.Def, true
		}
	}
	return lang.Range{}, false
}

// documentSymbol outlines the file: each stage, with its steps inside.
func (s *server) documentSymbol(ctx context.Context, raw json.RawMessage) (any, error) {
	var p protocol.DocumentSymbolParams
	if err := decode(raw, &p); err != nil {
		return nil, err
	}
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	syms := []protocol.DocumentSymbol{}
	if d.file == nil {
		return syms, nil
	}
	for _, st := range d.file.Stages {
		ins := stageInstrs(st)
		if len(ins) == 0 {
			continue
		}
		start := ins[0].Node().Range.Start.Offset
		end := ins[len(ins)-1].Node().Range.End.Offset
		sym := protocol.DocumentSymbol{
			Name:           stageLabel(st),
			Kind:           protocol.SymbolKindNamespace,
			Range:          d.m.span(start, end),
			SelectionRange: d.m.span(start, start),
		}
		if st.From != nil {
			sym.Detail = "FROM " + st.Base
			sel := st.From.Base.Range
			if st.From.Name != nil {
				sel = st.From.Name.Range
			}
			sym.SelectionRange = d.m.rangeOf(sel)
		}
		for _, in := range st.Instructions {
			if in == lang.Instruction(st.From) {
				continue // the stage itself stands for its FROM
			}
			n := in.Node()
			sym.Children = append(sym.Children, protocol.DocumentSymbol{
				Name:           stepLabel(d.text, in),
				Detail:         string(n.Kind),
				Kind:           symbolKind(n.Kind),
				Range:          d.m.rangeOf(n.Range),
				SelectionRange: d.m.rangeOf(n.KeywordRange),
			})
		}
		syms = append(syms, sym)
	}
	return syms, nil
}

func stageLabel(st *lang.Stage) string {
	switch {
	case st.Name != "":
		return "stage " + st.Name
	case st.From != nil:
		return fmt.Sprintf("stage %d (%s)", st.Index, st.Base)
	}
	return "build steps"
}

// stepLabel is an instruction's first line, keyword upper-cased, shortened.
func stepLabel(text string, in lang.Instruction) string {
	n := in.Node()
	s, e := n.KeywordRange.End.Offset, n.Range.End.Offset
	if s < 0 || e > len(text) || s > e {
		return string(n.Kind)
	}
	line, _, _ := strings.Cut(text[s:e], "\n")
	line = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), "\\"))
	label := string(n.Kind) + " " + line
	if r := []rune(label); len(r) > 60 {
		label = string(r[:59]) + "…"
	}
	return label
}

func symbolKind(k lang.Kind) protocol.SymbolKind {
	switch k {
	case lang.KindEnv, lang.KindArg:
		return protocol.SymbolKindVariable
	case lang.KindCopy:
		return protocol.SymbolKindFile
	case lang.KindWorkdir:
		return protocol.SymbolKindPackage
	case lang.KindUser:
		return protocol.SymbolKindKey
	case lang.KindHealthcheck:
		return protocol.SymbolKindEvent
	}
	return protocol.SymbolKindFunction
}
