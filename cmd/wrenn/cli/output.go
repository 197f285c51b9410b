package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"

	"wrenn.dev/wrenn/lang"
)

// Diagnostic output formats shared by every command that reports
// diagnostics (compile, build, lsp's CLI fallback): text for people, json
// for scripts and editors, sarif for code-scanning services.
const (
	formatText  = "text"
	formatJSON  = "json"
	formatSARIF = "sarif"
)

// diagFormats lists the values --format accepts, in help order.
var diagFormats = []string{formatText, formatJSON, formatSARIF}

// checkFormat returns a usage error for a --format value no printer knows.
func checkFormat(format string) error {
	for _, f := range diagFormats {
		if f == format {
			return nil
		}
	}
	return usageError("unknown --format %q: want one of %s", format, strings.Join(diagFormats, ", "))
}

// sourceSet maps a diagnostic's Range.File to the bytes it points into, so
// printers can quote the source and convert byte columns. A file missing
// from the set is reported without an excerpt.
type sourceSet map[string][]byte

// diagReport is everything one run reports: the diagnostics of all files
// together, in the order the files were given, each file's sorted.
type diagReport struct {
	Diagnostics lang.Diagnostics
	Sources     sourceSet
	// Files counts the files checked, for the summary line.
	Files int
}

// printOptions says how a report is printed.
type printOptions struct {
	Format string
	Color  bool
	// Rules describes every code a diagnostic may carry (for SARIF's
	// tool.driver.rules); codes not in it are added with a generic entry.
	Rules []ruleInfo
}

// writeReport prints r to w in opts.Format.
func writeReport(w io.Writer, r *diagReport, opts printOptions) error {
	switch opts.Format {
	case formatJSON:
		return writeJSON(w, r.Diagnostics)
	case formatSARIF:
		return writeSARIF(w, r, opts.Rules)
	default:
		return writeText(w, r, opts.Color)
	}
}

// Colour modes of --color.
const (
	colorAuto   = "auto"
	colorAlways = "always"
	colorNever  = "never"
)

// useColor decides whether text output to w is coloured: always and never
// are obeyed; auto colours only a terminal, and only when NO_COLOR
// (https://no-color.org) is unset and TERM is not "dumb".
func useColor(mode string, w io.Writer) (bool, error) {
	switch mode {
	case colorAlways:
		return true, nil
	case colorNever:
		return false, nil
	case colorAuto, "":
	default:
		return false, usageError("unknown --color %q: want auto, always or never", mode)
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false, nil
	}
	f, ok := w.(*os.File)
	if !ok {
		return false, nil
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()), nil
}

// summaryLine is the one-line count printed on stderr after text output,
// e.g. "2 errors, 1 warning in 1 file" or "no problems in 3 files".
func summaryLine(diags lang.Diagnostics, files int) string {
	var errs, warns, infos int
	for _, d := range diags {
		switch d.Severity {
		case lang.SeverityError:
			errs++
		case lang.SeverityWarning:
			warns++
		default:
			infos++
		}
	}
	var parts []string
	if errs > 0 {
		parts = append(parts, plural(errs, "error", "errors"))
	}
	if warns > 0 {
		parts = append(parts, plural(warns, "warning", "warnings"))
	}
	if infos > 0 {
		parts = append(parts, plural(infos, "info", "infos"))
	}
	if len(parts) == 0 {
		parts = []string{"no problems"}
	}
	return strings.Join(parts, ", ") + " in " + plural(files, "file", "files")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
