package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"go.lsp.dev/protocol"
	"mvdan.cc/sh/v3/syntax"

	"wrenn.dev/wrenn/lang"
)

// fix is one quick fix: byte-offset edits on the document, for one
// diagnostic.
type fix struct {
	title string
	diag  lang.Diagnostic
	edits []byteEdit
}

type byteEdit struct {
	start, end int
	text       string
}

// codeAction offers quick fixes for the lint findings in the requested
// range. Fixes are derived from the server's own diagnostics of the
// document (the linter decided what is wrong and where; the fix only
// edits there), and each action carries the client's copy of the
// diagnostic it resolves, so the editor shows it as that problem's fix.
func (s *server) codeAction(ctx context.Context, raw json.RawMessage) (any, error) {
	var p protocol.CodeActionParams
	if err := decode(raw, &p); err != nil {
		return nil, err
	}
	d, err := s.doc(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	actions := []protocol.CodeAction{}
	if len(p.Context.Only) > 0 && !slices.ContainsFunc(p.Context.Only, func(k protocol.CodeActionKind) bool {
		return k == protocol.QuickFix || strings.HasPrefix(string(protocol.QuickFix), string(k)+".")
	}) {
		return actions, nil
	}
	rs, re := d.m.offset(p.Range.Start), d.m.offset(p.Range.End)
	for _, fx := range fixesIn(d, rs, re) {
		var edits []protocol.TextEdit
		for _, e := range fx.edits {
			edits = append(edits, protocol.TextEdit{Range: d.m.span(e.start, e.end), NewText: e.text})
		}
		a := protocol.CodeAction{
			Title:       fx.title,
			Kind:        protocol.QuickFix,
			IsPreferred: true,
			Edit:        &protocol.WorkspaceEdit{Changes: map[protocol.DocumentURI][]protocol.TextEdit{d.uri: edits}},
		}
		target := d.m.rangeOf(fx.diag.Range)
		for _, pd := range p.Context.Diagnostics {
			if code, _ := pd.Code.(string); code == fx.diag.Code && overlaps(pd.Range, target) {
				a.Diagnostics = append(a.Diagnostics, pd)
			}
		}
		actions = append(actions, a)
	}
	return actions, nil
}

// fixesIn returns the fixes for the document's diagnostics that touch
// the byte span [rs, re].
func fixesIn(d *document, rs, re int) []fix {
	var out []fix
	for _, dg := range d.diags {
		if dg.Range.End.Offset < rs || dg.Range.Start.Offset > re {
			continue
		}
		start, end := dg.Range.Start.Offset, dg.Range.End.Offset
		if start < 0 || end > len(d.text) || start > end {
			continue
		}
		switch dg.Code {
		case codeKeywordCasing:
			kw := d.text[start:end]
			want := strings.ToUpper(kw)
			if strings.Contains(dg.Message, "lower case") {
				want = strings.ToLower(kw)
			}
			out = append(out, fix{title: fmt.Sprintf("Write %s as %s", kw, want), diag: dg,
				edits: []byteEdit{{start, end, want}}})
		case codeAptMissingYes:
			// The diagnostic covers apt's subcommand; -y goes right after it.
			out = append(out, fix{title: fmt.Sprintf("Add -y after %s", d.text[start:end]), diag: dg,
				edits: []byteEdit{{end, end, " -y"}}})
		case codeRunCd:
			if in, st := instrAt(d.file, start); in != nil {
				if run, ok := in.(*lang.RunInstr); ok {
					if fx, ok := cdFix(st, run, start); ok {
						fx.diag = dg
						out = append(out, fx)
					}
				}
			}
		}
	}
	return out
}

// cdFix turns `RUN cd DIR && rest` into `WORKDIR DIR` + `RUN rest` when
// the cd at source offset at is the body's first command. DIR must be a
// plain word: absolute, or relative to the stage's last absolute WORKDIR
// (where the step starts). Unlike cd, WORKDIR also applies to the steps
// after it, which is what the run-cd rule asks for.
func cdFix(st *lang.Stage, run *lang.RunInstr, at int) (fix, bool) {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(run.Cmd.Text), "")
	if err != nil || len(f.Stmts) != 1 {
		return fix{}, false
	}
	top := f.Stmts[0]
	bin, ok := top.Cmd.(*syntax.BinaryCmd)
	if !ok || bin.Op != syntax.AndStmt || top.Negated || top.Background || len(top.Redirs) > 0 {
		return fix{}, false
	}
	// Find the innermost `X && Y` whose X is the first command.
	for {
		inner, ok := bin.X.Cmd.(*syntax.BinaryCmd)
		if !ok {
			break
		}
		if inner.Op != syntax.AndStmt || bin.X.Negated || len(bin.X.Redirs) > 0 {
			return fix{}, false
		}
		bin = inner
	}
	x := bin.X
	call, ok := x.Cmd.(*syntax.CallExpr)
	if !ok || x.Negated || x.Background || len(x.Redirs) > 0 || len(call.Assigns) > 0 || len(call.Args) != 2 || call.Args[0].Lit() != "cd" {
		return fix{}, false
	}
	if run.Cmd.SourceOffset(int(call.Pos().Offset())) != at {
		return fix{}, false
	}
	dir := call.Args[1].Lit()
	if dir == "" || dir == "-" || strings.ContainsAny(dir, "~$") {
		return fix{}, false
	}
	if !strings.HasPrefix(dir, "/") {
		wd := ""
		for _, in := range st.Instructions {
			if in.Node().Range.Start.Offset >= run.Range.Start.Offset {
				break
			}
			if w, ok := in.(*lang.WorkdirInstr); ok {
				wd = strings.TrimSpace(w.Path.Value)
			}
		}
		if !strings.HasPrefix(wd, "/") {
			return fix{}, false
		}
		dir = path.Join(wd, dir)
	}
	// The rest starts at the first byte of the command after `&&`.
	rest := int(bin.Y.Pos().Offset())
	if rest >= len(run.Cmd.Text) {
		return fix{}, false
	}
	n := run.Node()
	return fix{
		title: fmt.Sprintf("Use WORKDIR %s instead of cd", dir),
		edits: []byteEdit{
			{n.Range.Start.Offset, n.Range.Start.Offset, "WORKDIR " + dir + "\n"},
			{run.Cmd.Range.Start.Offset, run.Cmd.SourceOffset(rest), ""},
		},
	}, true
}

func overlaps(a, b protocol.Range) bool {
	return !less(a.End, b.Start) && !less(b.End, a.Start)
}

func less(a, b protocol.Position) bool {
	return a.Line < b.Line || (a.Line == b.Line && a.Character < b.Character)
}
