package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.lsp.dev/protocol"

	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
)

// hover documents what is under the cursor: an instruction keyword or
// flag (from lang's documentation, the source SPEC.md is written from), a
// variable (where it is set and its value), or a stage name.
func (s *server) hover(ctx context.Context, raw json.RawMessage) (any, error) {
	d, off, err := s.docAt(raw)
	if err != nil {
		return nil, err
	}
	text, start, end := s.hoverText(d, off)
	if text == "" {
		return nil, nil
	}
	r := d.m.span(start, end)
	return &protocol.Hover{
		Contents: protocol.MarkupContent{Kind: protocol.Markdown, Value: text},
		Range:    &r,
	}, nil
}

// hoverText returns the markdown for offset off and the span it covers.
func (s *server) hoverText(d *document, off int) (string, int, int) {
	in, _ := instrAt(d.file, off)
	if in != nil {
		n := in.Node()
		if inRange(n.KeywordRange, off) {
			if doc, ok := docFor(n.Kind); ok {
				return instrMarkdown(doc), n.KeywordRange.Start.Offset, n.KeywordRange.End.Offset
			}
		}
		for _, f := range n.Flags {
			if !inRange(f.Range, off) {
				continue
			}
			if n.Kind == lang.KindCopy && f.Name == "from" && inRange(f.ValueRange, off) {
				if st := stageNamed(d.file, f.Value, n.Range.Start.Offset); st != nil {
					return stageMarkdown(d, st), f.ValueRange.Start.Offset, f.ValueRange.End.Offset
				}
			}
			if fd, ok := flagDocFor(n.Kind, f.Name); ok {
				return flagMarkdown(n.Kind, fd), f.Range.Start.Offset, f.Range.End.Offset
			}
		}
		if from, ok := in.(*lang.FromInstr); ok && inRange(from.Base.Range, off) {
			if st := stageNamed(d.file, from.Base.Value, n.Range.Start.Offset); st != nil {
				return stageMarkdown(d, st), from.Base.Range.Start.Offset, from.Base.Range.End.Offset
			}
		}
	}
	if ref, ok := varAt(d.text, off); ok {
		return s.varMarkdown(d, ref), ref.Start, ref.End
	}
	return "", 0, 0
}

func instrMarkdown(doc instrDoc) string {
	var b strings.Builder
	fmt.Fprintf(&b, "```wrennfile\n%s\n```\n\n%s", doc.Syntax, doc.Summary)
	if len(doc.Flags) > 0 {
		b.WriteString("\n\nFlags:\n")
		for _, f := range doc.Flags {
			fmt.Fprintf(&b, "- `%s`: %s\n", flagSyntax(f), firstSentence(f.Summary))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func flagMarkdown(k lang.Kind, f flagDoc) string {
	return fmt.Sprintf("```wrennfile\n%s %s\n```\n\n%s", k, flagSyntax(f), f.Summary)
}

func flagSyntax(f flagDoc) string {
	if f.Value == "" {
		return "--" + f.Name
	}
	return "--" + f.Name + "=" + f.Value
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

func stageMarkdown(d *document, st *lang.Stage) string {
	line := st.From.Range.Start.Line
	return fmt.Sprintf("stage **%s**: `FROM %s AS %s` (line %d, %d instructions)", st.Name, st.Base, st.Name, line, len(st.Instructions))
}

// varMarkdown says where a variable is set and what it holds there.
func (s *server) varMarkdown(d *document, ref varRef) string {
	vars := varsInScope(d.file, ref.Start, s.opts.BuildArgs)
	v, ok := vars[ref.Name]
	if !ok {
		if sandboxVars[ref.Name] {
			msg := fmt.Sprintf("**$%s** is set by the sandbox the step runs in", ref.Name)
			if v, ok := compiler.FallbackEnv()[ref.Name]; ok {
				msg += fmt.Sprintf(" (usually `%s`)", v)
			}
			return msg
		}
		return fmt.Sprintf("**$%s** is not set by this Wrennfile before this line: it expands to an empty string unless the sandbox's environment has it", ref.Name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**$%s**: set by `%s` at line %d", v.Name, v.Kind, v.Def.Start.Line)
	switch {
	case !v.HasValue:
		b.WriteString("\n\nno default value: give one with `--build-arg " + v.Name + "=…`")
	default:
		fmt.Fprintf(&b, "\n\nvalue: `%s`", v.Value)
		if v.Raw != v.Value {
			fmt.Fprintf(&b, "\n\nas written: `%s`", v.Raw)
		}
	}
	return b.String()
}

// sandboxVars are set in every sandbox (SPEC.md section 3, "Variables").
var sandboxVars = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "SHELL": true, "PWD": true, "OLDPWD": true,
	"HOSTNAME": true, "TERM": true, "SHLVL": true, "LANG": true, "WRENN_SANDBOX_ID": true, "WRENN_TEMPLATE_ID": true,
}
