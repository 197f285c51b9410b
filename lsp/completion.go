package lsp

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"

	"go.lsp.dev/protocol"

	"wrenn.dev/wrenn/lang"
)

// completion offers, depending on the text before the cursor: instruction
// keywords at the start of a line, the flags of the instruction being
// written after `--`, earlier stage names after `--from=` or `FROM `, and
// the variables in scope after `$` or `${`.
func (s *server) completion(ctx context.Context, raw json.RawMessage) (any, error) {
	d, off, err := s.docAt(raw)
	if err != nil {
		return nil, err
	}
	items := s.completeAt(d, off)
	return &protocol.CompletionList{IsIncomplete: false, Items: items}, nil
}

func (s *server) completeAt(d *document, off int) []protocol.CompletionItem {
	text := d.text
	ls := strings.LastIndexByte(text[:off], '\n') + 1
	before := text[ls:off]
	continued := ls >= 2 && strings.HasSuffix(strings.TrimRight(text[:ls-1], " \t\r"), "\\")

	// The word being typed, which every item replaces.
	ws := off
	for ws > ls && isWordByte(text[ws-1]) {
		ws--
	}
	edit := func(label string, start int) *protocol.TextEdit {
		return &protocol.TextEdit{Range: d.m.span(start, off), NewText: label}
	}

	// Variables: `$NA|` or `${NA|`.
	if i := strings.LastIndexByte(before, '$'); i >= 0 {
		name := before[i+1:]
		braced := strings.HasPrefix(name, "{")
		name = strings.TrimPrefix(name, "{")
		if isPartialName(name) && !(i > 0 && before[i-1] == '$') {
			return s.varItems(d, off, ls+i, braced, edit)
		}
	}

	trimmed := strings.TrimLeft(before, " \t")
	// Keywords: a bare word at the start of a line that is not a continuation.
	if !continued && isPartialKeyword(trimmed) {
		var items []protocol.CompletionItem
		for _, k := range lang.Kinds {
			it := protocol.CompletionItem{Label: string(k), Kind: protocol.CompletionItemKindKeyword, TextEdit: edit(string(k), ws)}
			if doc, ok := docFor(k); ok {
				it.Detail = doc.Syntax
				it.Documentation = protocol.MarkupContent{Kind: protocol.Markdown, Value: doc.Summary}
			}
			items = append(items, it)
		}
		return items
	}

	kind, inHead := s.instrContext(d, off, ls)
	if kind == "" {
		return nil
	}
	// Stage names: `COPY --from=na|` or `FROM na|`.
	if i := strings.LastIndex(before, "--from="); i >= 0 && kind == lang.KindCopy && !strings.ContainsAny(before[i:], " \t") {
		return stageItems(d, off, ls+i+len("--from="), edit)
	}
	if kind == lang.KindFrom && strings.Count(strings.TrimSpace(trimmed), " ") == 0 && strings.ContainsAny(trimmed, " \t") {
		return stageItems(d, off, ws, edit)
	}
	// Flags: `--na|` while still among the instruction's flags.
	fs := strings.LastIndexAny(before, " \t") + 1
	if word := before[fs:]; inHead && strings.HasPrefix(word, "-") && !strings.Contains(word, "=") {
		doc, ok := docFor(kind)
		if !ok {
			return nil
		}
		present := map[string]bool{}
		if in, _ := instrAt(d.file, off); in != nil {
			for _, f := range in.Node().Flags {
				present[f.Name] = true
			}
		}
		var items []protocol.CompletionItem
		for _, f := range doc.Flags {
			if present[f.Name] && !strings.HasPrefix(word, "--"+f.Name) {
				continue
			}
			label := "--" + f.Name
			insert := label
			if f.Value != "" {
				insert += "="
			}
			items = append(items, protocol.CompletionItem{
				Label: label, Kind: protocol.CompletionItemKindProperty, Detail: flagSyntax(f),
				Documentation: protocol.MarkupContent{Kind: protocol.Markdown, Value: f.Summary},
				TextEdit:      edit(insert, ls+fs),
			})
		}
		return items
	}
	return nil
}

// instrContext returns the kind of the instruction being written at off and
// whether the cursor is still before its first argument (among its flags).
// It reads the text, not the AST, since a half-typed line may not parse.
func (s *server) instrContext(d *document, off, ls int) (lang.Kind, bool) {
	// Walk back over continuation lines to the instruction's first line.
	start := ls
	for start >= 2 && strings.HasSuffix(strings.TrimRight(d.text[:start-1], " \t\r"), "\\") {
		start = strings.LastIndexByte(d.text[:start-1], '\n') + 1
	}
	fields := strings.Fields(d.text[start:off])
	if len(fields) == 0 {
		return "", false
	}
	kind := lang.Kind(strings.ToUpper(fields[0]))
	if !slices.Contains(lang.Kinds, kind) {
		return "", false
	}
	inHead := true
	for _, f := range fields[1:] {
		if f != "\\" && !strings.HasPrefix(f, "--") {
			inHead = false
		}
	}
	// The word under the cursor is the one being completed, not an argument.
	if !strings.HasSuffix(d.text[start:off], " ") && len(fields) > 1 && strings.HasPrefix(fields[len(fields)-1], "-") {
		inHead = true
		for _, f := range fields[1 : len(fields)-1] {
			if f != "\\" && !strings.HasPrefix(f, "--") {
				inHead = false
			}
		}
	}
	return kind, inHead
}

func stageItems(d *document, off, start int, edit func(string, int) *protocol.TextEdit) []protocol.CompletionItem {
	var items []protocol.CompletionItem
	seen := map[string]bool{}
	for _, st := range d.file.Stages {
		if st.Name == "" || st.From == nil || st.From.Range.Start.Offset >= off || seen[st.Name] {
			continue
		}
		seen[st.Name] = true
		items = append(items, protocol.CompletionItem{
			Label: st.Name, Kind: protocol.CompletionItemKindModule,
			Detail: "stage FROM " + st.Base, TextEdit: edit(st.Name, start),
		})
	}
	return items
}

func (s *server) varItems(d *document, off, dollar int, braced bool, edit func(string, int) *protocol.TextEdit) []protocol.CompletionItem {
	vars := varsInScope(d.file, off, s.opts.BuildArgs)
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	var items []protocol.CompletionItem
	for _, n := range names {
		v := vars[n]
		label := "$" + n
		insert := label
		if braced {
			label, insert = "${"+n+"}", "${"+n+"}"
		}
		// Replace only up to the cursor: a closing brace already typed after
		// it is kept, so drop ours then.
		if braced && off < len(d.text) && d.text[off] == '}' {
			insert = strings.TrimSuffix(insert, "}")
		}
		items = append(items, protocol.CompletionItem{
			Label: label, Kind: protocol.CompletionItemKindVariable,
			Detail: string(v.Kind) + " " + n + "=" + v.Value, FilterText: label,
			TextEdit: edit(insert, dollar),
		})
	}
	return items
}

func isWordByte(c byte) bool {
	return c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isPartialName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i], i == 0) {
			return false
		}
	}
	return true
}

func isPartialKeyword(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
