package cli

import (
	"errors"
	"io"

	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/lsp"
)

func init() { register(newLSPCmd) }

func newLSPCmd() *cobra.Command {
	var opts lsp.Options
	var buildArgs []string
	var stdio bool
	cmd := &cobra.Command{
		Use:   "lsp",
		Short: "Run the Wrennfile language server (LSP over standard input and output)",
		Long: `Lsp runs wrenn's language server, speaking the Language Server Protocol 3.17
over standard input and output; editors start it themselves (docs/editors.md
shows VS Code, Neovim and Helix).

It reports every error and lint warning as you type, with a link to each
rule's page; documents instructions, flags and variables on hover; completes
instructions, flags, stage names after --from= and variables after $;
formats the document like 'wrenn fmt'; offers quick fixes (keyword case,
apt-get install without -y, cd in RUN -> WORKDIR); jumps to the definition
of stages and variables; and outlines stages and their steps.

With a build context and a cache directory (the flags below, or the client's
initializationOptions {"context": DIR, "cacheDir": DIR}), a code lens above
each step says whether its layer is cached.

Nothing but protocol messages is written to standard output; the server's
own log goes to standard error.

Exit codes: 0 after the client's shutdown and exit, 1 if the client exits
without shutdown or the stream fails, 2 usage error.`,
		Example: `  # what an editor runs
  wrenn lsp

  # with cached/not-cached lenses for builds of the current directory
  wrenn lsp --context . --cache-dir ~/.cache/wrenn`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ba, err := parseBuildArgs(buildArgs)
			if err != nil {
				return err
			}
			opts.BuildArgs = ba
			opts.Log = cmd.ErrOrStderr()
			opts.Version = versionString()
			stream := stdioStream{r: cmd.InOrStdin(), w: cmd.OutOrStdout()}
			err = lsp.Serve(cmd.Context(), stream, opts)
			switch {
			case err == nil:
				return nil
			case errors.Is(err, lsp.ErrNoShutdown):
				return exitCode(ExitFailure, nil)
			}
			return exitCode(ExitFailure, err)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Context, "context", "", "build context `DIR` for the cache code lens")
	fl.StringVar(&opts.CacheDir, "cache-dir", "", "layer cache `DIR` for the cache code lens")
	fl.StringArrayVar(&buildArgs, "build-arg", nil, "ARG value for the cache code lens, `NAME=VALUE` (repeatable)")
	// Language clients (vscode-languageclient among them) add --stdio to
	// say which transport they expect; stdio is the only one.
	fl.BoolVar(&stdio, "stdio", true, "speak over standard input and output (the only transport; accepted for clients that pass it)")
	_ = cmd.MarkFlagDirname("context")
	_ = cmd.MarkFlagDirname("cache-dir")
	return cmd
}

// stdioStream joins the command's input and output into the one stream
// the JSON-RPC connection reads and writes.
type stdioStream struct {
	r io.Reader
	w io.Writer
}

func (s stdioStream) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s stdioStream) Write(p []byte) (int, error) { return s.w.Write(p) }

// Close closes standard input when it can be closed, which ends the read
// loop; standard output stays open for the rest of the process.
func (s stdioStream) Close() error {
	if c, ok := s.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
