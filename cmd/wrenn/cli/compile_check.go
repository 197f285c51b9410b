package cli

import (
	"encoding/json"
	"errors"
	"strings"

	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
	"wrenn.dev/wrenn/lang/lint"
)

// checkOptions is what the command line tells the linter about the build.
type checkOptions struct {
	// SkipPrePost: the recipe starts as root in /, not as wrenn-user.
	SkipPrePost bool
	// ContextDir is the local build context directory, if any.
	ContextDir string
}

// checkFile parses and lints one file; every command that checks a
// Wrennfile goes through it so they all report the same diagnostics.
// A file named *.json is a recipe in the seed's form, a JSON list of lines;
// its diagnostics point into the returned File.Source (the lines joined).
func checkFile(name string, src []byte, opts checkOptions) (*lang.File, lang.Diagnostics) {
	cfg := lint.Config{SkipPrePost: opts.SkipPrePost, ContextDir: opts.ContextDir}
	if !strings.HasSuffix(strings.ToLower(name), ".json") {
		return lint.Run(name, src, cfg)
	}
	var lines []string
	if err := json.Unmarshal(src, &lines); err != nil {
		return &lang.File{Name: name, Source: src}, lang.Diagnostics{recipeError(name, src, err)}
	}
	return lint.RunRecipe(name, lines, cfg)
}

// recipeError reports a .json file that is not a JSON list of strings, at
// the offset the decoder stopped.
func recipeError(name string, src []byte, err error) lang.Diagnostic {
	off := 0
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = int(se.Offset)
	case errors.As(err, &te):
		off = int(te.Offset)
	}
	off = min(max(off, 0), len(src))
	line := 1 + strings.Count(string(src[:off]), "\n")
	col := off - (strings.LastIndexByte(string(src[:off]), '\n') + 1) + 1
	pos := lang.Pos{Line: line, Column: col, Offset: off}
	return lang.Diagnostic{
		Severity: lang.SeverityError,
		Code:     lang.CodeParse,
		Message:  "a .json recipe must be a JSON list of strings, one instruction each",
		Detail:   err.Error(),
		Range:    lang.Range{File: name, Start: pos, End: pos},
	}
}

// diagnosticRules describes every code wrenn compile can report, for
// SARIF's rule table: the lint rules, then the parser's and the
// compiler's codes (errors that cannot be configured).
func diagnosticRules() []ruleInfo {
	rules := make([]ruleInfo, 0, len(lint.Rules)+16)
	for _, r := range lint.Rules {
		rules = append(rules, ruleInfo{ID: r.Code, Short: r.Summary, HelpURI: r.URL(), Severity: r.Severity})
	}
	for _, c := range lang.ParseCodes {
		rules = append(rules, ruleInfo{ID: c.Code, Short: c.Summary, HelpURI: specURI + "#2-diagnostics", Severity: c.Severity})
	}
	for _, c := range compilerCodes {
		rules = append(rules, ruleInfo{ID: c.code, Short: c.summary, HelpURI: specURI + "#4-plans-and-layer-keys", Severity: c.severity})
	}
	rules = append(rules, ruleInfo{ID: CodeTooManyDiagnostics, Short: "more diagnostics in one file than --max-diagnostics; the rest are counted", HelpURI: specURI + "#2-diagnostics", Severity: lang.SeverityError})
	return rules
}

// specURI is the published SPEC.md, where parser and compiler codes are
// described.
const specURI = "https://wrenn.dev/spec"

// compilerCodes are the diagnostics compiler.Compile reports with --plan.
var compilerCodes = []struct {
	code     string
	severity lang.Severity
	summary  string
}{
	{compiler.CodeTargetUnknown, lang.SeverityError, "--target names no stage"},
	{compiler.CodeBaseUnknown, lang.SeverityError, "the base template is unknown"},
	{compiler.CodeCopyFromUnknown, lang.SeverityError, "COPY --from names no earlier stage"},
	{compiler.CodeCopyNoContext, lang.SeverityError, "COPY from the build context without a context"},
	{compiler.CodeCopySourceMissing, lang.SeverityError, "a COPY source is not in the build context"},
	{compiler.CodeCopySourceInvalid, lang.SeverityError, "a COPY source is absolute or leaves the build context"},
	{compiler.CodeCopyContextRead, lang.SeverityError, "the build context cannot be read"},
	{compiler.CodeCopyChmodInvalid, lang.SeverityError, "COPY --chmod is not an octal mode"},
	{compiler.CodeBuildArgUnused, lang.SeverityWarning, "a --build-arg names no ARG"},
}
