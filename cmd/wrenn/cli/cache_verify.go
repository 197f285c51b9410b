package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/cache"
)

func newCacheVerifyCmd(cf *cacheFlags) *cobra.Command {
	var repair bool
	var format string
	cmd := &cobra.Command{
		Use:   "verify [flags]",
		Short: "Check the cache records against the agent's layers",
		Long: `verify checks every record against the agent (its snapshot is there, with
the recorded size and digest) and every layer on the agent against the
records (a layer no record points to is an orphan, left by a crash between
writing a layer and recording it, or mid-prune).

A record whose snapshot is gone is harmless to a build (the step runs
again), but it is dead weight. With --repair, verify drops such records and
deletes orphan layers (children first) and reports what it did.

Exit codes: 0 no problems (or all repaired), 1 problems found (listed, one
per line), 2 usage error.

Formats (--format): text (default) or json
  {"checked":N,"layers":N,"problems":[{"kind":"missing-snapshot|size-mismatch|
   digest-mismatch|orphan-layer|other-agent","key":"…","layer":"…",
   "message":"…","repaired":bool}]}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFormat(format, "text", "json"); err != nil {
				return err
			}
			var res *cache.VerifyResult
			err := cf.withStoreAndAgent(cmd.Context(), func(s *cache.BadgerStore, a cache.AgentLayers) error {
				var err error
				res, err = cache.Verify(cmd.Context(), s, a, repair)
				return err
			})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				for _, p := range res.Problems {
					mark := ""
					if p.Repaired {
						mark = " (repaired)"
					}
					fmt.Fprintf(w, "%s: %s%s\n", p.Kind, p.Message, mark)
				}
				n := 0
				for _, p := range res.Problems {
					if p.Kind != cache.ProblemForeignAgent {
						n++
					}
				}
				summary := fmt.Sprintf("checked %s against %s: ", plural(res.Checked, "record", "records"), plural(res.Layers, "agent layer", "agent layers"))
				switch {
				case n == 0:
					summary += "no problems"
				case res.Failed() && !repair:
					summary += plural(n, "problem", "problems") + "; run 'wrenn cache verify --repair' to fix them"
				case res.Failed():
					summary += plural(n, "problem", "problems") + ", some could not be repaired"
				default:
					summary += plural(n, "problem", "problems") + ", all repaired"
				}
				fmt.Fprintln(cmd.ErrOrStderr(), summary)
			}
			if res.Failed() {
				return exitCode(ExitFailure, nil)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "drop records of lost snapshots and delete orphan layers")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cf.addAgentFlags(cmd)
	return cmd
}
