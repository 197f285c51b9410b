package lsp_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"go.lsp.dev/protocol"

	"wrenn.dev/wrenn/lang"
	"wrenn.dev/wrenn/lang/lint"
)

const docURI = "file:///work/app/Wrennfile"

// pos is the LSP position of the byte offset off in text, computed here
// independently of the server's mapper: lines by '\n', columns in UTF-16.
func pos(text string, off int) protocol.Position {
	line := strings.Count(text[:off], "\n")
	start := strings.LastIndexByte(text[:off], '\n') + 1
	return protocol.Position{Line: uint32(line), Character: uint32(len(utf16.Encode([]rune(text[start:off]))))}
}

// at is the position of the n-th (0-based) occurrence of needle, plus delta bytes.
func at(t *testing.T, text, needle string, delta int) protocol.Position {
	t.Helper()
	i := strings.Index(text, needle)
	if i < 0 {
		t.Fatalf("%q not in text", needle)
	}
	return pos(text, i+delta)
}

type publishParams struct {
	URI         string                `json:"uri"`
	Version     int                   `json:"version"`
	Diagnostics []protocol.Diagnostic `json:"diagnostics"`
}

func (c *client) diagnostics() publishParams {
	c.t.Helper()
	var p publishParams
	if err := json.Unmarshal(c.waitNotification("textDocument/publishDiagnostics"), &p); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// diagnosticsFrom skips publications of versions older than v: on a slow
// machine a debounced publish of an earlier edit may still be on its way.
func (c *client) diagnosticsFrom(v int) publishParams {
	c.t.Helper()
	for {
		if p := c.diagnostics(); p.Version >= v {
			return p
		}
	}
}

func initialize(t *testing.T, c *client, initOpts any) protocol.InitializeResult {
	t.Helper()
	var res protocol.InitializeResult
	c.call("initialize", map[string]any{
		"processId": os.Getpid(), "rootUri": "file:///work/app", "capabilities": map[string]any{},
		"initializationOptions": initOpts,
	}, &res)
	c.notify("initialized", map[string]any{})
	return res
}

func TestConversation(t *testing.T) {
	c := startServer(t)
	res := initialize(t, c, nil)
	if res.ServerInfo == nil || res.ServerInfo.Name != "wrenn" {
		t.Errorf("serverInfo = %+v, want name wrenn", res.ServerInfo)
	}
	if res.Capabilities.CodeLensProvider != nil {
		t.Errorf("code lens offered without a context and cache directory")
	}

	// 1. A document with a parse error and a lint warning after non-ASCII
	// text on the same line: the range must count UTF-16 units.
	broken := "FROM ubuntu AS build\n" +
		"RUN echo \"héllo 😀\" && apt-get install curl\n" +
		"FORM x\n"
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": docURI, "languageId": "wrennfile", "version": 1, "text": broken}})
	pub := c.diagnostics()
	if pub.URI != docURI || pub.Version != 1 {
		t.Fatalf("published for %s v%d, want %s v1", pub.URI, pub.Version, docURI)
	}
	// Every diagnostic must be where lint.Run (the same analysis `wrenn
	// compile` runs) puts it, converted here independently.
	_, want := lint.Run("/work/app/Wrennfile", []byte(broken), lint.Config{})
	if len(pub.Diagnostics) != len(want) || len(want) == 0 {
		t.Fatalf("got %d diagnostics, want %d: %+v", len(pub.Diagnostics), len(want), pub.Diagnostics)
	}
	for i, w := range want {
		g := pub.Diagnostics[i]
		wr := protocol.Range{Start: pos(broken, w.Range.Start.Offset), End: pos(broken, w.Range.End.Offset)}
		if g.Range != wr || g.Code != w.Code || !strings.HasPrefix(g.Message, w.Message) {
			t.Errorf("diagnostic %d = %v %v %q, want %v %v %q", i, g.Range, g.Code, g.Message, wr, w.Code, w.Message)
		}
	}
	apt := findDiag(t, pub.Diagnostics, "apt-missing-yes")
	if want := (protocol.Range{Start: at(t, broken, "install", 0), End: at(t, broken, "install", len("install"))}); apt.Range != want {
		t.Errorf("apt-missing-yes range = %v, want %v", apt.Range, want)
	}
	// By hand: `RUN echo "héllo 😀" && apt-get ` is 34 bytes but 31 UTF-16
	// units (é: 2 bytes, 1 unit; 😀: 4 bytes, 2 units).
	if apt.Range.Start.Character != 31 || apt.Range.End.Character != 38 {
		t.Errorf("apt-missing-yes spans UTF-16 columns %d-%d, want 31-38", apt.Range.Start.Character, apt.Range.End.Character)
	}
	if apt.Severity != protocol.DiagnosticSeverityWarning {
		t.Errorf("apt-missing-yes severity = %v, want warning", apt.Severity)
	}
	if apt.CodeDescription == nil || apt.CodeDescription.Href != protocol.URI(lint.Lookup("apt-missing-yes").URL()) {
		t.Errorf("apt-missing-yes codeDescription = %+v, want the rule's page", apt.CodeDescription)
	}
	hasError := slices.ContainsFunc(pub.Diagnostics, func(d protocol.Diagnostic) bool {
		return d.Severity == protocol.DiagnosticSeverityError && d.Range.Start.Line == 2
	})
	if !hasError {
		t.Errorf("no error on line 3 (FORM): %+v", pub.Diagnostics)
	}

	// 2. Code action on the apt warning: insert -y after install.
	var actions []protocol.CodeAction
	c.call("textDocument/codeAction", map[string]any{
		"textDocument": map[string]any{"uri": docURI},
		"range":        apt.Range,
		"context":      map[string]any{"diagnostics": []protocol.Diagnostic{apt}},
	}, &actions)
	fixed := applyAction(t, broken, actions, "apt-missing-yes")
	if !strings.Contains(fixed, "apt-get install -y curl") {
		t.Errorf("apt fix gave:\n%s", fixed)
	}

	// 3. Fixing the file clears the diagnostics.
	good := "FROM ubuntu AS build\n" +
		"ARG VERSION=1.2\n" +
		"ENV APP_HOME=/srv/app-$VERSION\n" +
		"RUN echo \"héllo 😀\" && apt-get install -y curl\n" +
		"FROM ubuntu\n" +
		"COPY --from=build /out $APP_HOME\n"
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": docURI, "version": 2},
		"contentChanges": []map[string]any{{"text": good}},
	})
	pub = c.diagnosticsFrom(2)
	_, wantGood := lint.Run("/work/app/Wrennfile", []byte(good), lint.Config{})
	if pub.Version != 2 || len(pub.Diagnostics) != len(wantGood) {
		t.Fatalf("after the fix: v%d %+v, want v2 with %d diagnostics", pub.Version, pub.Diagnostics, len(wantGood))
	}
	for _, d := range pub.Diagnostics {
		if d.Severity == protocol.DiagnosticSeverityError {
			t.Errorf("error left after the fix: %+v", d)
		}
	}

	// 4. Hover: an instruction keyword, then a variable.
	var hover protocol.Hover
	c.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": at(t, good, "RUN", 1)}, &hover)
	if !strings.Contains(hover.Contents.Value, "RUN") {
		t.Errorf("hover on RUN = %q", hover.Contents.Value)
	}
	c.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": at(t, good, "$VERSION", 2)}, &hover)
	if !strings.Contains(hover.Contents.Value, "line 2") || !strings.Contains(hover.Contents.Value, "1.2") {
		t.Errorf("hover on $VERSION = %q, want its definition line and value", hover.Contents.Value)
	}

	c.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": at(t, good, "--from", 3)}, &hover)
	if want := lang.InstructionDocs[lang.KindCopy].Flags; !strings.Contains(hover.Contents.Value, "--from=") || !strings.Contains(hover.Contents.Value, flagDocText(want, "from")) {
		t.Errorf("hover on --from = %q", hover.Contents.Value)
	}

	// 5. Definition: --from=build goes to `AS build`, $VERSION to ARG VERSION.
	var locs []protocol.Location
	c.call("textDocument/definition", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": at(t, good, "=build", 2)}, &locs)
	if want := (protocol.Range{Start: at(t, good, "build\n", 0), End: at(t, good, "build\n", 5)}); len(locs) != 1 || locs[0].Range != want {
		t.Errorf("definition of build = %+v, want %v", locs, want)
	}
	c.call("textDocument/definition", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": at(t, good, "$VERSION", 3)}, &locs)
	if want := (protocol.Range{Start: at(t, good, "VERSION=", 0), End: at(t, good, "VERSION=", 7)}); len(locs) != 1 || locs[0].Range != want {
		t.Errorf("definition of $VERSION = %+v, want %v", locs, want)
	}

	// 6. Document symbols: two stages with their steps.
	var syms []protocol.DocumentSymbol
	c.call("textDocument/documentSymbol", map[string]any{"textDocument": map[string]any{"uri": docURI}}, &syms)
	if len(syms) != 2 || syms[0].Name != "stage build" || len(syms[0].Children) != 3 || len(syms[1].Children) != 1 {
		t.Errorf("symbols = %+v", syms)
	}

	// 7. Completion: keywords, flags, stage names, variables.
	completion := func(text string, p protocol.Position) []string {
		t.Helper()
		c.notify("textDocument/didChange", map[string]any{
			"textDocument":   map[string]any{"uri": docURI, "version": 3},
			"contentChanges": []map[string]any{{"text": text}},
		})
		var list protocol.CompletionList
		c.call("textDocument/completion", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": p}, &list)
		var labels []string
		for _, it := range list.Items {
			labels = append(labels, it.Label)
		}
		return labels
	}
	if got := completion(good+"WOR", pos(good+"WOR", len(good)+3)); !slices.Contains(got, "WORKDIR") || !slices.Contains(got, "RUN") {
		t.Errorf("keyword completion = %v", got)
	}
	if got := completion(good+"RUN --t", pos(good+"RUN --t", len(good)+7)); !slices.Contains(got, "--timeout") {
		t.Errorf("flag completion = %v", got)
	}
	if got := completion(good+"COPY --from=", pos(good+"COPY --from=", len(good)+12)); !slices.Equal(got, []string{"build"}) {
		t.Errorf("stage completion = %v, want [build]", got)
	}
	// In the second stage, variables from the first are out of scope.
	twoStage := "ARG G=1\nFROM a AS s1\nENV X=1\nFROM b\nENV Y=2\nRUN echo $"
	if got := completion(twoStage, pos(twoStage, len(twoStage))); !slices.Contains(got, "$Y") || !slices.Contains(got, "$G") || slices.Contains(got, "$X") {
		t.Errorf("variable completion = %v, want $Y and the global $G, not $X", got)
	}

	// 8. Formatting: lower-case keywords and blank runs come back canonical.
	messy := "from ubuntu\n\n\n\nrun   echo hi\n"
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": docURI, "version": 4},
		"contentChanges": []map[string]any{{"text": messy}},
	})
	var edits []protocol.TextEdit
	c.call("textDocument/formatting", map[string]any{"textDocument": map[string]any{"uri": docURI}, "options": map[string]any{"tabSize": 4, "insertSpaces": true}}, &edits)
	if got := applyEdits(t, messy, edits); got != "FROM ubuntu\n\nRUN echo hi\n" {
		t.Errorf("formatted:\n%q", got)
	}

	// 9. Quick fixes for keyword casing and cd in RUN.
	fixable := "FROM ubuntu\nWORKDIR /srv\nrun cd app && make\nRUN echo done\n"
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": docURI, "version": 5},
		"contentChanges": []map[string]any{{"text": fixable}},
	})
	pub = c.diagnosticsFrom(5)
	for _, tc := range []struct{ code, want string }{
		{"keyword-casing", "FROM ubuntu\nWORKDIR /srv\nRUN cd app && make\nRUN echo done\n"},
		{"run-cd", "FROM ubuntu\nWORKDIR /srv\nWORKDIR /srv/app\nrun make\nRUN echo done\n"},
	} {
		d := findDiag(t, pub.Diagnostics, tc.code)
		c.call("textDocument/codeAction", map[string]any{
			"textDocument": map[string]any{"uri": docURI},
			"range":        d.Range,
			"context":      map[string]any{"diagnostics": pub.Diagnostics},
		}, &actions)
		if got := applyAction(t, fixable, actions, tc.code); got != tc.want {
			t.Errorf("%s fix gave\n%s\nwant\n%s", tc.code, got, tc.want)
		}
	}

	// 10. Debounce: of three quick changes only the last is analysed and
	// published first.
	for v := 6; v <= 8; v++ {
		c.notify("textDocument/didChange", map[string]any{
			"textDocument":   map[string]any{"uri": docURI, "version": v},
			"contentChanges": []map[string]any{{"text": strings.Repeat("RUN echo hi\n", v)}},
		})
	}
	if pub = c.diagnosticsFrom(6); pub.Version != 8 {
		t.Errorf("first publish after a burst of changes is for version %d, want 8", pub.Version)
	}

	// 11. Closing the document clears its diagnostics.
	c.notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": docURI}})
	if pub = c.diagnostics(); pub.URI != docURI || len(pub.Diagnostics) != 0 {
		t.Errorf("after close: %+v, want an empty list", pub)
	}

	// 12. Shutdown and exit: exit code 0.
	if code := c.exit(); code != 0 {
		t.Errorf("exit code %d after shutdown+exit, want 0; stderr:\n%s", code, c.stderr)
	}
}

func TestExitWithoutShutdown(t *testing.T) {
	c := startServer(t)
	initialize(t, c, nil)
	c.notify("exit", nil)
	c.stdin.Close()
	if err := c.cmd.Wait(); err == nil || c.cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("exit without shutdown: %v, want exit code 1", err)
	}
}

func findDiag(t *testing.T, ds []protocol.Diagnostic, code string) protocol.Diagnostic {
	t.Helper()
	for _, d := range ds {
		if d.Code == code {
			return d
		}
	}
	t.Fatalf("no %s diagnostic in %+v", code, ds)
	return protocol.Diagnostic{}
}

// applyAction applies the one action that resolves a diagnostic of code.
func applyAction(t *testing.T, text string, actions []protocol.CodeAction, code string) string {
	t.Helper()
	for _, a := range actions {
		if len(a.Diagnostics) == 1 && a.Diagnostics[0].Code == code {
			if a.Kind != protocol.QuickFix || a.Edit == nil {
				t.Fatalf("action %q: kind %q, edit %v", a.Title, a.Kind, a.Edit)
			}
			return applyEdits(t, text, a.Edit.Changes[docURI])
		}
	}
	t.Fatalf("no action for %s in %+v", code, actions)
	return ""
}

// applyEdits applies non-overlapping LSP edits, converting positions with
// pos's independent arithmetic.
func applyEdits(t *testing.T, text string, edits []protocol.TextEdit) string {
	t.Helper()
	offset := func(p protocol.Position) int {
		for i := 0; i <= len(text); i++ {
			if pos(text, i) == p {
				return i
			}
		}
		t.Fatalf("position %v not in text", p)
		return 0
	}
	type e struct {
		s, e int
		t    string
	}
	var es []e
	for _, ed := range edits {
		es = append(es, e{offset(ed.Range.Start), offset(ed.Range.End), ed.NewText})
	}
	slices.SortFunc(es, func(a, b e) int { return b.s - a.s })
	for _, x := range es {
		text = text[:x.s] + x.t + text[x.e:]
	}
	return text
}

func TestRequestBeforeInitialize(t *testing.T) {
	c := startServer(t)
	err := c.tryCall("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": protocol.Position{}}, nil)
	if err == nil || !strings.Contains(err.Error(), "-32002") {
		t.Errorf("hover before initialize: %v, want error -32002 (server not initialized)", err)
	}
	initialize(t, c, nil)
	err = c.tryCall("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": "file:///not/open"}, "position": protocol.Position{}}, nil)
	if err == nil || !strings.Contains(err.Error(), "not open") {
		t.Errorf("hover on a closed document: %v, want an error", err)
	}
	if code := c.exit(); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

func flagDocText(flags []lang.FlagDoc, name string) string {
	for _, f := range flags {
		if f.Name == name {
			return f.Doc
		}
	}
	return "no such flag " + name
}
