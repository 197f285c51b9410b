package lang

// Codes of the diagnostics the parser reports. They are stable: tools and
// suppression comments refer to them, so a code is never renamed or reused.
// SPEC.md section 2 lists them with their meaning.
const (
	CodeParse                 = "parse-error"
	CodeUnknownInstruction    = "unknown-instruction"
	CodeUnknownFlag           = "unknown-flag"
	CodeDuplicateFlag         = "duplicate-flag"
	CodeInvalidFlagValue      = "invalid-flag-value"
	CodeInvalidDuration       = "invalid-duration"
	CodeMissingArgument       = "missing-argument"
	CodeExtraArgument         = "extra-argument"
	CodeEnvMissingEquals      = "env-missing-equals"
	CodeInvalidEnvKey         = "invalid-env-key"
	CodeInvalidArgName        = "invalid-arg-name"
	CodeInvalidUserName       = "invalid-user-name"
	CodeInvalidStageName      = "invalid-stage-name"
	CodeCopySourceEscapes     = "copy-source-escapes"
	CodeFromNotFirst          = "from-not-first"
	CodeShellSyntax           = "shell-syntax"
	CodeShellBashism          = "shell-bashism"
	CodeUnknownDirective      = "unknown-directive"
	CodeInvalidDirectiveValue = "invalid-directive-value"
	CodeMisplacedDirective    = "misplaced-directive"
	CodeEmptySuppression      = "empty-suppression"
)

// ParseCodes lists every parser code with its severity, in SPEC.md order.
var ParseCodes = []struct {
	Code     string
	Severity Severity
	Summary  string
}{
	{CodeParse, SeverityError, "the line could not be read at all (should not happen; report a bug)"},
	{CodeUnknownInstruction, SeverityError, "the first word of an instruction is not a keyword"},
	{CodeUnknownFlag, SeverityError, "a flag the instruction does not take"},
	{CodeDuplicateFlag, SeverityError, "the same flag twice on one instruction"},
	{CodeInvalidFlagValue, SeverityError, "a flag value of the wrong form, or a value missing or given where none is allowed"},
	{CodeInvalidDuration, SeverityError, "a duration flag that is not a non-negative Go duration (or not positive where zero is meaningless)"},
	{CodeMissingArgument, SeverityError, "an instruction without its required arguments"},
	{CodeExtraArgument, SeverityError, "words after the last argument an instruction takes"},
	{CodeEnvMissingEquals, SeverityError, "ENV without '=' (the seed rejects it too)"},
	{CodeInvalidEnvKey, SeverityError, "an ENV key that is empty or not a shell variable name"},
	{CodeInvalidArgName, SeverityError, "an ARG name that is not a shell variable name"},
	{CodeInvalidUserName, SeverityError, "a USER, RUN --user or COPY --chown name outside [A-Za-z_][A-Za-z0-9_-]*"},
	{CodeInvalidStageName, SeverityError, "a FROM … AS name outside [A-Za-z0-9][A-Za-z0-9_.-]*"},
	{CodeCopySourceEscapes, SeverityError, "a COPY source with a '..' component, or an absolute one without --from"},
	{CodeFromNotFirst, SeverityError, "an instruction other than ARG before the first FROM"},
	{CodeShellSyntax, SeverityError, "a RUN, START or HEALTHCHECK body that is not valid shell"},
	{CodeShellBashism, SeverityWarning, "a body that is valid bash but not POSIX sh, which /bin/sh may reject"},
	{CodeUnknownDirective, SeverityWarning, "a # wrenn: directive with an unknown key"},
	{CodeInvalidDirectiveValue, SeverityError, "a directive value of the wrong form"},
	{CodeMisplacedDirective, SeverityWarning, "a # wrenn: directive after the first instruction, which has no effect"},
	{CodeEmptySuppression, SeverityWarning, "a # wrenn-ignore= comment that names no code"},
}
