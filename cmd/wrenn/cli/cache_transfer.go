package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/cache"
)

func newCacheExportCmd(cf *cacheFlags) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "export --to DIR",
		Short: "Write cached layers and their records to a directory",
		Long: `export writes every cached layer of the agent (streamed from it, with the
layers they build on), the records and the refs to DIR: manifest.json and
blobs/sha256/<digest>. Copy DIR to another machine (a CI cache, say) and
'wrenn cache import --from DIR' there; the import checks every blob against
its digest.`,
		Example: `  wrenn cache export --to /mnt/ci-cache/wrenn`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return usageError("--to DIR is required")
			}
			return cf.withStoreAndAgent(cmd.Context(), func(s *cache.BadgerStore, a cache.AgentLayers) error {
				res, err := cache.Export(cmd.Context(), s, a, to)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "exported %s, %s and %s (%s) to %s\n",
					plural(res.Records, "record", "records"), plural(res.Layers, "layer", "layers"), plural(res.Refs, "ref", "refs"), humanSize(res.Bytes), to)
				if res.Skipped > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "left out %s of whole-template snapshots or other agents\n", plural(res.Skipped, "record", "records"))
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "export `DIR` (created if missing)")
	_ = cmd.MarkFlagDirname("to")
	cf.addAgentFlags(cmd)
	return cmd
}

func newCacheImportCmd(cf *cacheFlags) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "import --from DIR",
		Short: "Load layers and records written by 'wrenn cache export'",
		Long: `import reads an export directory, checks every blob against its digest and
every record's key against its preimage before changing anything, then
imports the layers into the agent (parents first; layers it already has
are reused) and records their keys, so the next build here reuses them.
A changed or damaged file is rejected with the file named.

A layer that sits directly on a base template is imported onto this
agent's base of the same name, and only if its digest is the same (the
layers would not fit another rootfs); otherwise it and the layers above it
are left out, with a warning.`,
		Example: `  wrenn cache import --from /mnt/ci-cache/wrenn`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return usageError("--from DIR is required")
			}
			return cf.withStoreAndAgent(cmd.Context(), func(s *cache.BadgerStore, a cache.AgentLayers) error {
				res, err := cache.Import(cmd.Context(), s, a, from)
				if errors.Is(err, cache.ErrTampered) {
					return exitCode(ExitFailure, fmt.Errorf("import rejected: %w", err))
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "imported %s, %s and %s (%s) from %s",
					plural(res.Records, "record", "records"), plural(res.Layers, "layer", "layers"), plural(res.Refs, "ref", "refs"), humanSize(res.Bytes), from)
				if res.Skipped > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "; %s already on the agent", plural(res.Skipped, "layer was", "layers were"))
				}
				fmt.Fprintln(cmd.ErrOrStderr())
				for _, w := range res.Warnings {
					fmt.Fprintf(cmd.ErrOrStderr(), "wrenn: warning: %s\n", w)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "export `DIR` to read")
	_ = cmd.MarkFlagDirname("from")
	cf.addAgentFlags(cmd)
	return cmd
}
