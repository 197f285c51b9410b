package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/lang"
	"wrenn.dev/wrenn/lang/format"
)

func init() { register(newFmtCmd) }

// fmtFlags are the flags of `wrenn fmt`.
type fmtFlags struct {
	write         bool
	diff          bool
	list          bool
	stdinFilename string
}

func newFmtCmd() *cobra.Command {
	var f fmtFlags
	cmd := &cobra.Command{
		Use:   "fmt [-w] [-d] [-l] FILE...",
		Short: "Format Wrennfiles in the canonical layout",
		Long: `Fmt prints each Wrennfile in wrenn's canonical layout: upper-case keywords,
one space after the keyword, flags in a fixed order, continuation lines
indented by four spaces, comments kept where they are, at most one blank
line in a row, no trailing blanks, one final newline. Shell bodies (RUN,
START, HEALTHCHECK) are kept byte for byte wherever re-indenting would change
the command text. Formatting never changes what a file means, so it never
changes a layer key (docs/fmt.md has every rule).

FILE is a path, a directory (its Wrennfile is used), or - for standard
input. By default the formatted text goes to standard output.

A file with parse errors is not formatted: its errors are printed as
file:line:col: error: message [code], and fmt exits 1 after the other files.

Exit codes:
  0  done (with -d or -l: every file was already formatted)
  1  a parse error, an unreadable or unwritable file, or with -d or -l a
     file that is not formatted (for CI)
  2  usage error`,
		Example: `  # show the formatted file
  wrenn fmt Wrennfile

  # rewrite files in place
  wrenn fmt -w Wrennfile app/Wrennfile

  # in CI: fail and show what would change
  wrenn fmt -d Wrennfile

  # from an editor
  wrenn fmt --stdin-filename app/Wrennfile - < app/Wrennfile`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("no files: give a Wrennfile path, or - for standard input\nRun '%s --help' for usage.", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runFmt(cmd, args, &f) },
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveDefault
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&f.write, "write", "w", false, "write the result to the file instead of standard output")
	fl.BoolVarP(&f.diff, "diff", "d", false, "show a unified diff of the changes instead of the result")
	fl.BoolVarP(&f.list, "list", "l", false, "list the files whose formatting differs instead of the result")
	fl.StringVar(&f.stdinFilename, "stdin-filename", "", "file name to report for - (standard input)")
	return cmd
}

func runFmt(cmd *cobra.Command, args []string, f *fmtFlags) error {
	stdin := 0
	var inputs []compileInput
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
	switch {
	case stdin > 1:
		return usageError("- (standard input) given more than once")
	case stdin > 0 && f.write:
		return usageError("-w cannot rewrite standard input")
	case f.stdinFilename != "" && stdin == 0:
		return usageError("--stdin-filename needs - among the files")
	}

	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	failed, unformatted := false, false
	for _, in := range inputs {
		name, src, err := readInput(cmd, in)
		if err != nil {
			fmt.Fprintf(stderr, "wrenn: %v\n", err)
			failed = true
			continue
		}
		out, err := format.Source(name, src)
		if err != nil {
			var le *lang.Error
			if errors.As(err, &le) {
				_ = writeText(stderr, &diagReport{Diagnostics: le.Diagnostics, Sources: sourceSet{name: src}, Files: 1}, false)
			} else {
				fmt.Fprintf(stderr, "wrenn: %v\n", err)
			}
			failed = true
			continue
		}
		changed := !bytes.Equal(src, out)
		if changed {
			unformatted = true
		}
		if f.list && changed {
			fmt.Fprintln(stdout, name)
		}
		if f.diff && changed {
			if err := writeDiff(stdout, name, src, out); err != nil {
				return err
			}
		}
		if f.write {
			if changed && in.arg != "-" {
				if err := writeFileAtomic(name, out); err != nil {
					fmt.Fprintf(stderr, "wrenn: %v\n", err)
					failed = true
				}
			}
		} else if !f.diff && !f.list {
			if _, err := stdout.Write(out); err != nil {
				return err
			}
		}
	}
	if failed || ((f.diff || f.list) && unformatted) {
		return exitCode(ExitFailure, nil)
	}
	return nil
}

// writeDiff prints a unified diff from the file as it is to as formatted.
func writeDiff(w io.Writer, name string, before, after []byte) error {
	return difflib.WriteUnifiedDiff(w, difflib.UnifiedDiff{
		A:        difflib.SplitLines(string(before)),
		B:        difflib.SplitLines(string(after)),
		FromFile: name + ".orig",
		ToFile:   name,
		Context:  3,
	})
}

// writeFileAtomic replaces path with data through a temporary file in the
// same directory and a rename, so an interrupted fmt -w never leaves a
// half-written Wrennfile; the file keeps its permission bits.
func writeFileAtomic(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".wrenn-fmt-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the *fs.PathError wrapper whose path the message
// already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
