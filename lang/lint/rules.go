package lint

import "wrenn.dev/wrenn/lang"

const (
	warning = lang.SeverityWarning
	info    = lang.SeverityInfo
	errorS  = lang.SeverityError
)

// Codes of the rules that judge the lint configuration itself; they have
// no check of their own (Run reports them while applying directives and
// suppressions).
const (
	codeUnknownLintCode    = "unknown-lint-code"
	codeUnsilenceableError = "unsilenceable-error"
	codeUnusedSuppression  = "unused-suppression"
)

// Rules is every lint rule, sorted by code. Each has a page
// docs/rules/<code>.md and a golden test testdata/rules/<code>.txtar.
var Rules = []*Rule{
	{Code: "apt-missing-yes", Severity: warning, Summary: "apt/apt-get install (or upgrade, remove…) without -y waits for a confirmation the build cannot give", check: checkAptMissingYes},
	{Code: "apt-no-install-recommends", Severity: info, Summary: "apt-get install without --no-install-recommends grows the template", check: checkAptNoInstallRecommends},
	{Code: "apt-upgrade", Severity: warning, Summary: "apt-get upgrade in a recipe is frozen by the layer cache; upgrade the base template", check: checkAptUpgrade},
	{Code: "chmod-777", Severity: warning, Summary: "chmod or COPY --chmod that makes files world-writable", check: checkChmod777},
	{Code: "copy-relative-dest", Severity: warning, Summary: "COPY to a relative destination while no WORKDIR is set", check: checkCopyRelativeDest},
	{Code: "curl-pipe-shell", Severity: warning, Summary: "a download piped into a shell runs unchecked code the layer key does not cover", check: checkCurlPipeShell},
	{Code: "duplicate-stage-name", Severity: errorS, Summary: "two stages have the same AS name", check: checkDuplicateStageName},
	{Code: "empty-continuation", Severity: warning, Summary: "blank line inside a continued instruction", check: checkEmptyContinuation},
	{Code: "env-multiple-assignments", Severity: warning, Summary: "ENV A=1 B=2 sets one variable A to \"1 B=2\" (split on the first '=')", check: checkEnvMultipleAssignments},
	{Code: "env-quotes-kept", Severity: warning, Summary: "quotes around an ENV value become part of the value", check: checkEnvQuotesKept},
	{Code: "healthcheck-without-start", Severity: warning, Summary: "HEALTHCHECK in a template that STARTs nothing", check: checkHealthcheckWithoutStart},
	{Code: "keyword-casing", Severity: warning, Summary: "instruction keywords in mixed casing", check: checkKeywordCasing},
	{Code: "multiple-healthcheck", Severity: warning, Summary: "more than one HEALTHCHECK: only the last is used", check: checkMultipleHealthcheck},
	{Code: "pip-no-cache-dir", Severity: info, Summary: "pip install keeps its cache in the template (post-build cleans only apt's)", check: checkPipNoCacheDir},
	{Code: "redundant-apt-cleanup", Severity: info, Summary: "apt clean or rm /var/lib/apt/lists that the post-build phase already does", check: checkRedundantAptCleanup},
	{Code: "rm-rf-root", Severity: warning, Summary: "rm -r of / or of a path that becomes / when a variable is empty", check: checkRmRoot},
	{Code: "run-background-process", Severity: warning, Summary: "RUN starts a background process, which dies when the step ends; use START", check: checkRunBackground},
	{Code: "run-cd", Severity: warning, Summary: "cd in RUN instead of WORKDIR", check: checkRunCd},
	{Code: "run-reads-context", Severity: warning, Summary: "RUN reads the build context directory; context files arrive only through COPY", check: checkRunReadsContext},
	{Code: "run-timeout-range", Severity: warning, Summary: "RUN --timeout of zero (the phase default, not unlimited) or far above any phase budget", check: checkRunTimeoutRange},
	{Code: "run-user-unknown", Severity: warning, Summary: "RUN --user names a user no USER created", check: checkRunUserUnknown},
	{Code: "secret-in-variable", Severity: warning, Summary: "ENV or ARG whose name looks like a secret (PASSWORD, TOKEN, API_KEY…)", check: checkSecretInVariable},
	{Code: "start-without-healthcheck", Severity: warning, Summary: "START without HEALTHCHECK: the rootfs is flattened and the process is lost", check: checkStartWithoutHealthcheck},
	{Code: "sudo-as-root", Severity: warning, Summary: "sudo while the current user is root", check: checkSudoAsRoot},
	{Code: "undefined-stage", Severity: errorS, Summary: "COPY --from or FROM names a stage that is not defined before it", check: checkUndefinedStage},
	{Code: "undefined-variable", Severity: warning, Summary: "$VAR in ENV, WORKDIR, COPY, USER or FROM that no ENV or ARG set", check: checkUndefinedVariable},
	{Code: codeUnknownLintCode, Severity: warning, Summary: "a directive or suppression names an unknown rule code"},
	{Code: codeUnsilenceableError, Severity: warning, Summary: "a directive or suppression tries to silence a rule that reports errors"},
	{Code: "unused-arg", Severity: warning, Summary: "ARG that nothing uses, yet it is part of every later layer key", check: checkUnusedArg},
	{Code: codeUnusedSuppression, Severity: info, Summary: "a wrenn-ignore comment that silences nothing", check: nil},
	{Code: "user-root-at-end", Severity: warning, Summary: "the recipe ends as root, so root is the template's default user", check: checkUserRootAtEnd},
	{Code: "workdir-relative", Severity: warning, Summary: "relative WORKDIR (used as written, not joined to the previous one)", check: checkWorkdirRelative},
	{Code: "workdir-whitespace", Severity: warning, Summary: "WORKDIR path containing a space", check: checkWorkdirWhitespace},
}
