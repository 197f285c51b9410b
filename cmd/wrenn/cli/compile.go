package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/lang"
)

func init() { register(newCompileCmd) }

// stdinName names standard input in diagnostics when --stdin-filename is
// not given.
const stdinName = "<stdin>"

// compileFlags are the flags of `wrenn compile`.
type compileFlags struct {
	format        string
	color         string
	strict        bool
	quiet         bool
	stdinFilename string
	maxDiags      int

	plan        bool
	context     string
	buildArgs   []string
	skipPrePost bool
	target      string
}

func newCompileCmd() *cobra.Command {
	var f compileFlags
	cmd := &cobra.Command{
		Use:   "compile [flags] FILE...",
		Short: "Check Wrennfiles for errors and lint warnings, or show their plan",
		Long: `Compile parses each Wrennfile, reports every error and lint warning with its
exact position, and with --plan shows the steps a build would run and their
layer keys. It needs no agent, no cache and no root, and starts in
milliseconds, so editors can run it on every save.

FILE is a path, a directory (its Wrennfile is used), or - for standard input;
with - give the file's real name with --stdin-filename so positions and
directives refer to it. A file named *.json is a recipe in the seed's form,
a JSON list of instruction lines (line N is element N).

Formats (--format):
  text    file:line:col: severity: message [code], then the source line with
          the range underlined and any "did you mean" detail after "=".
          Colour on a terminal only (--color, NO_COLOR). A summary such as
          "2 errors, 1 warning in 1 file" goes to stderr unless --quiet.
  json    one document for all files:
          {"diagnostics":[{"severity":"error|warning|info","code":"…",
            "message":"…","detail":"…","range":{"file":"…",
            "start":{"line":1,"column":1,"offset":0},"end":{…}}}]}
          lines and columns 1-based (columns count bytes), offsets 0-based,
          end exclusive; "detail" and "related" only when there are any;
          [] when there is nothing to report. Each entry may carry
          "related":[{"message":"…","range":{…}}]. Field order as shown.
  sarif   SARIF 2.1.0 with every rule in tool.driver.rules, for GitHub code
          scanning and other SARIF viewers: one result per diagnostic
          (ruleId = code, level error|warning|note, columns in code points,
          related ranges as relatedLocations).

A file with more than --max-diagnostics problems (default 1000) reports the
first N in order, then one too-many-diagnostics entry at the first one left
out that counts them ("4000 more diagnostics not shown: 3990 errors, 10
warnings"), with the severity of the worst. The exit code still counts
every problem. --max-diagnostics=0 reports all.

Exit codes:
  0  no errors (warnings alone do not fail, unless --strict)
  1  an error in any file, a warning with --strict, or a file that cannot be
     read (reported as "wrenn: cannot read FILE: …"; the other files are
     still checked)
  2  usage error: unknown flag, no FILE, a bad --format, --color or
     --max-diagnostics value`,
		Example: `  # check a Wrennfile
  wrenn compile Wrennfile

  # check every Wrennfile under examples/, failing on warnings too (CI)
  wrenn compile --strict examples/*/Wrennfile

  # from an editor: the buffer on stdin, machine-readable output
  wrenn compile --format json --stdin-filename app/Wrennfile - < app/Wrennfile

  # upload to GitHub code scanning
  wrenn compile --format sarif Wrennfile > wrenn.sarif

  # show the steps and layer keys a build would use
  wrenn compile --plan --context . --build-arg VERSION=1.2 Wrennfile`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("no files: give a Wrennfile path, or - for standard input\nRun '%s --help' for usage.", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCompile(cmd, args, &f)
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveDefault
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", formatText, "output format: "+strings.Join(diagFormats, ", "))
	fl.StringVar(&f.color, "color", colorAuto, "colour text output: auto (terminal and no NO_COLOR), always, never")
	fl.BoolVar(&f.strict, "strict", false, "treat warnings as errors for the exit code")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "do not print the summary line on stderr")
	fl.StringVar(&f.stdinFilename, "stdin-filename", "", "file name to report for - (standard input)")
	fl.IntVar(&f.maxDiags, "max-diagnostics", defaultMaxDiagnostics, "report at most `N` diagnostics per file, then one too-many-diagnostics summary; 0 for no limit")
	fl.BoolVar(&f.plan, "plan", false, "show the compiled steps and their layer keys (one FILE)")
	fl.StringVar(&f.context, "context", "", "build context `DIR` or archive (tar, tar.gz, zip): COPY sources for --plan, and lint flags RUN lines that read it")
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "set an ARG value, `NAME=VALUE` (repeatable); with --plan")
	fl.BoolVar(&f.skipPrePost, "skip-pre-post", false, "the build skips the hidden pre- and post-build phases (as the skip-pre-post directive)")
	fl.StringVar(&f.target, "target", "", "plan up to this `STAGE` only; with --plan")
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion(diagFormats...))
	_ = cmd.RegisterFlagCompletionFunc("color", fixedCompletion(colorAuto, colorAlways, colorNever))
	_ = cmd.MarkFlagDirname("context")
	return cmd
}

// fixedCompletion completes a flag from a fixed list of values.
func fixedCompletion(values ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// compileInput is one file to check.
type compileInput struct {
	arg  string // as given on the command line
	name string // as reported in diagnostics
}

// validate turns every flag combination that cannot work into a usage
// error before any file is read.
func (f *compileFlags) validate(args []string) ([]compileInput, error) {
	if err := checkFormat(f.format); err != nil {
		return nil, err
	}
	if f.maxDiags < 0 {
		return nil, usageError("--max-diagnostics=%d: want a count, or 0 for no limit", f.maxDiags)
	}
	if _, err := useColor(f.color, io.Discard); err != nil {
		return nil, err
	}
	var inputs []compileInput
	stdin := 0
	for _, a := range args {
		in := compileInput{arg: a, name: a}
		if a == "-" {
			stdin++
			in.name = stdinName
			if f.stdinFilename != "" {
				in.name = f.stdinFilename
			}
		}
		inputs = append(inputs, in)
	}
	if stdin > 1 {
		return nil, usageError("- (standard input) given more than once")
	}
	if f.stdinFilename != "" && stdin == 0 {
		return nil, usageError("--stdin-filename needs - among the files")
	}
	if f.plan {
		if len(inputs) != 1 {
			return nil, usageError("--plan takes exactly one file, got %d", len(inputs))
		}
		if f.format == formatSARIF {
			return nil, usageError("--plan prints text or json, not sarif")
		}
	} else {
		for _, name := range []string{"build-arg", "target"} {
			if cmdFlagChanged(f, name) {
				return nil, usageError("--%s only applies with --plan", name)
			}
		}
	}
	if _, err := parseBuildArgs(f.buildArgs); err != nil {
		return nil, err
	}
	return inputs, nil
}

// cmdFlagChanged reports whether a plan-only flag was given a value.
func cmdFlagChanged(f *compileFlags, name string) bool {
	switch name {
	case "context":
		return f.context != ""
	case "build-arg":
		return len(f.buildArgs) > 0
	case "skip-pre-post":
		return f.skipPrePost
	case "target":
		return f.target != ""
	}
	return false
}

// parseBuildArgs turns repeated NAME=VALUE flags into a map; a later value
// for the same name wins, as with docker build.
func parseBuildArgs(list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(list))
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError("--build-arg %q: want NAME=VALUE", kv)
		}
		m[k] = v
	}
	return m, nil
}

func runCompile(cmd *cobra.Command, args []string, f *compileFlags) error {
	inputs, err := f.validate(args)
	if err != nil {
		return err
	}
	shortRunGC()
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	color, _ := useColor(f.color, stdout)

	opts := checkOptions{SkipPrePost: f.skipPrePost}
	if st, err := os.Stat(f.context); err == nil && st.IsDir() {
		opts.ContextDir = f.context
	}
	report := &diagReport{Sources: sourceSet{}}
	var files []*lang.File
	readFailed := false
	var all lang.Diagnostics // uncapped, for the exit code and the summary
	for _, in := range inputs {
		name, src, err := readInput(cmd, in)
		if err != nil {
			fmt.Fprintf(stderr, "wrenn: %v\n", err)
			readFailed = true
			continue
		}
		file, diags := checkFile(name, src, opts)
		diags = diags.Sort()
		all = append(all, diags...)
		report.Sources[name] = file.Source
		if !f.plan {
			diags = capDiagnostics(diags, f.maxDiags)
		}
		report.Diagnostics = append(report.Diagnostics, diags...)
		report.Files++
		files = append(files, file)
	}

	if f.plan && len(files) == 1 {
		return compilePlan(cmd, f, files[0], report.Diagnostics, readFailed)
	}

	if err := writeReport(stdout, report, printOptions{Format: f.format, Color: color, Rules: diagnosticRules()}); err != nil {
		return err
	}
	if f.format == formatText && !f.quiet && report.Files > 0 {
		fmt.Fprintln(stderr, summaryLine(all, report.Files))
	}
	if readFailed || all.HasErrors() || (f.strict && hasSeverity(all, lang.SeverityWarning)) {
		return exitCode(ExitFailure, nil)
	}
	return nil
}

// defaultMaxDiagnostics is --max-diagnostics' default: more than any real
// file has, few enough that a pathological one (100,000 bad lines) does
// not flood a terminal or an editor.
const defaultMaxDiagnostics = 1000

// CodeTooManyDiagnostics is the summary that replaces the diagnostics of a
// file beyond --max-diagnostics.
const CodeTooManyDiagnostics = "too-many-diagnostics"

// capDiagnostics keeps the first max of one file's sorted diagnostics and
// replaces the rest by one summary at the first one left out, with the
// severity of the worst left out, so the exit code and an editor's error
// count stay right. max <= 0 keeps all.
func capDiagnostics(diags lang.Diagnostics, max int) lang.Diagnostics {
	if max <= 0 || len(diags) <= max {
		return diags
	}
	rest := diags[max:]
	var counts [3]int // error, warning, info
	sev := lang.SeverityInfo
	for _, d := range rest {
		switch d.Severity {
		case lang.SeverityError:
			counts[0]++
			sev = lang.SeverityError
		case lang.SeverityWarning:
			counts[1]++
			if sev != lang.SeverityError {
				sev = lang.SeverityWarning
			}
		default:
			counts[2]++
		}
	}
	var parts []string
	for i, name := range [...][2]string{{"error", "errors"}, {"warning", "warnings"}, {"info", "infos"}} {
		if counts[i] > 0 {
			parts = append(parts, plural(counts[i], name[0], name[1]))
		}
	}
	at := rest[0].Range
	at.End = at.Start
	out := make(lang.Diagnostics, max, max+1)
	copy(out, diags[:max])
	return append(out, lang.Diagnostic{
		Severity: sev,
		Code:     CodeTooManyDiagnostics,
		Message:  plural(len(rest), "more diagnostic", "more diagnostics") + " not shown: " + strings.Join(parts, ", "),
		Detail:   fmt.Sprintf("only the first %d are reported; raise the limit with --max-diagnostics=N, or 0 for no limit", max),
		Range:    at,
	})
}

// hasSeverity reports whether any diagnostic has severity s.
func hasSeverity(ds lang.Diagnostics, s lang.Severity) bool {
	for _, d := range ds {
		if d.Severity == s {
			return true
		}
	}
	return false
}

// readInput reads one FILE argument and returns the name to report it
// under: - is standard input, a directory means its Wrennfile.
func readInput(cmd *cobra.Command, in compileInput) (string, []byte, error) {
	if in.arg == "-" {
		src, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return "", nil, fmt.Errorf("cannot read standard input: %w", err)
		}
		return in.name, src, nil
	}
	path := in.arg
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "Wrennfile")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return path, src, nil
}
