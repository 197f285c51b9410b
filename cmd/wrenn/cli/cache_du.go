package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/cache"
)

func newCacheDuCmd(cf *cacheFlags) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "du [flags]",
		Short: "Show how much the cache holds, per template, and what prune would free",
		Long: `du sums the sizes of the cached layers: in total, per template (every
layer its last build uses, and the part no other template shares), and
reclaimable: what 'wrenn cache prune' without --all would free (layers no
template uses and no running build holds).

Formats (--format):
  text  a table and a summary (default)
  json  {"records":N,"total_bytes":N,"reclaimable_bytes":N,"held_bytes":N,
         "templates":[{"name":"…","key":"…","layers":N,"size_bytes":N,
         "exclusive_bytes":N}]}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFormat(format, "text", "json"); err != nil {
				return err
			}
			return cf.withReadStore(cmd.ErrOrStderr(), func(s *cache.BadgerStore) error {
				u, err := cache.DiskUsage(cmd.Context(), s, time.Now())
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				if format == "json" {
					enc := json.NewEncoder(w)
					enc.SetIndent("", "  ")
					return enc.Encode(u)
				}
				if len(u.Templates) > 0 {
					var rows [][]string
					for _, t := range u.Templates {
						rows = append(rows, []string{t.Name, fmt.Sprint(t.Layers), humanSize(t.SizeBytes), humanSize(t.ExclusiveBytes)})
					}
					if err := writeTable(w, []string{"TEMPLATE", "LAYERS", "SIZE", "EXCLUSIVE"}, rows); err != nil {
						return err
					}
					fmt.Fprintln(w)
				}
				fmt.Fprintf(w, "total:        %s in %s\n", humanSize(u.TotalBytes), plural(u.Records, "layer", "layers"))
				fmt.Fprintf(w, "reclaimable:  %s (wrenn cache prune)\n", humanSize(u.ReclaimableBytes))
				if u.HeldBytes > 0 {
					fmt.Fprintf(w, "held:         %s (in use by running builds)\n", humanSize(u.HeldBytes))
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion("text", "json"))
	return cmd
}
