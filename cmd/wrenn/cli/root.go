package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes, as STYLE.md fixes them.
const (
	ExitOK       = 0
	ExitFailure  = 1 // errors in a file, a failed build
	ExitUsage    = 2
	ExitCanceled = 130
)

// exitError carries an exit code through cobra without printing twice.
type exitError struct {
	code int
	err  error // nil: already reported
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// exitCode returns an error that makes Main return code. With a nil err
// nothing more is printed.
func exitCode(code int, err error) error { return &exitError{code: code, err: err} }

// usageError marks a usage problem (exit 2).
func usageError(format string, args ...any) error {
	return exitCode(ExitUsage, fmt.Errorf(format, args...))
}

// commands is filled by each subcommand file's init.
var commands []func() *cobra.Command

func register(f func() *cobra.Command) { commands = append(commands, f) }

// NewRoot builds the whole command tree.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "wrenn",
		Short: "Compile Wrennfiles and build sandbox templates incrementally",
		Long: `wrenn compiles Wrennfiles — declarative recipes for sandbox templates — into a
step DAG, gives each step a content-addressed layer key, and builds templates
incrementally on a host agent: a build resumes from the deepest cached layer,
so only the steps that changed run again.

Common tasks:
  wrenn compile Wrennfile            check a Wrennfile (errors and lint warnings)
  wrenn compile --plan Wrennfile     show the steps and their layer keys
  wrenn build -f Wrennfile -t app    build a template, reusing cached layers
  wrenn cache ls                     see what the layer cache holds
  wrenn completion bash              shell completion (see its --help)

Every command explains its flags, formats and exit codes with
'wrenn help COMMAND'.

Exit codes: 0 success, 1 errors found or build failed, 2 usage error,
130 interrupted.`,
		Example: `  # check a Wrennfile, as an editor or CI would
  wrenn compile --strict Wrennfile

  # the same, machine-readable
  wrenn compile --format json Wrennfile`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		//lint:ignore ST1005 a user-facing paragraph, worded like the other usage errors
		return exitCode(ExitUsage, fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath()))
	})
	for _, f := range commands {
		root.AddCommand(f())
	}
	return root
}

// Main runs wrenn with os.Args and returns the process exit code.
func Main() int {
	ownProcess = true
	return Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// ownProcess is true when wrenn runs as its own process (Main), not
// in-process as a library (Run from tests): only then may a command tune
// process-wide settings such as the garbage collector.
var ownProcess bool

// shortRunGC tunes the garbage collector for a short-lived command whose
// heap stays small (compile, fmt): collect when the heap grows 4x rather
// than 2x (GOGC=400), under a 1 GiB soft limit. A 1,000-step compile then
// runs one collection instead of several, ~15% of its whole-process time
// (docs/benchmarks.md section 1). GOGC or GOMEMLIMIT in the environment
// win.
func shortRunGC() {
	if !ownProcess || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(1 << 30)
}

// Run runs wrenn with the given arguments and streams. Ctrl-C cancels the
// command's context; a command that stops because of it exits 130.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "wrenn: %v\n", ee.err)
		}
		return ee.code
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "wrenn: interrupted")
		return ExitCanceled
	}
	msg := strings.TrimRight(err.Error(), "\n")
	// cobra reports unknown commands and bad args as plain errors.
	if isUsage(err) {
		fmt.Fprintf(stderr, "wrenn: %s\nRun 'wrenn --help' for usage.\n", msg)
		return ExitUsage
	}
	fmt.Fprintf(stderr, "wrenn: %s\n", msg)
	return ExitFailure
}
