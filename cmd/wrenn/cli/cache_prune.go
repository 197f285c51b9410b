package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/cache"
)

func newCachePruneCmd(cf *cacheFlags) *cobra.Command {
	var (
		o           cache.PruneOptions
		until, keep string
		filters     []string
		format      string
	)
	cmd := &cobra.Command{
		Use:   "prune [flags]",
		Short: "Delete cached layers, least recently used first",
		Long: `prune deletes cached layers and their snapshots on the agent, least
recently used first. It never deletes a layer a running build holds, nor a
layer that a kept layer builds on (children go before their parents).
Without --all it deletes only layers no template (ref) uses.

It also deletes orphan layers on the agent (layers no record points to,
left by a crash) unless --keep-orphans is given: use that when several
cache directories share one agent. It also drops file-hash entries of
build-context files that changed or are gone.

A crash or Ctrl-C mid-prune is safe: each record is removed before its
snapshot, so the worst case is an orphan layer that the next prune or
'wrenn cache verify --repair' deletes.

Filters (--filter, repeatable; all must match):
` + cache.FilterHelp + `

Formats (--format): text (default) or json
  {"deleted":[record…],"orphans":[layer…],"skipped":[{"key","layer","reason"}],
   "freed_bytes":N,"left_bytes":N}`,
		Example: `  # what would go?
  wrenn cache prune --dry-run
  # keep the cache under 20 GB, dropping what was used least recently
  wrenn cache prune --all --keep-storage 20GB
  # everything not used for a week
  wrenn cache prune --all --until 7d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFormat(format, "text", "json"); err != nil {
				return err
			}
			var err error
			if until != "" {
				if o.Until, err = cache.ParseDuration(until); err != nil {
					return usageError("--until %q: want a duration such as 36h or 7d", until)
				}
			}
			if keep != "" {
				n, err := humanize.ParseBytes(keep)
				if err != nil {
					return usageError("--keep-storage %q: want a size such as 500MB or 20GiB", keep)
				}
				o.KeepStorage = int64(n)
			}
			if o.Filter, err = cache.ParseFilter(filters); err != nil {
				return usageError("%v", err)
			}
			o.Now = time.Now()
			var res *cache.PruneResult
			stale := 0
			run := func(s *cache.BadgerStore, a cache.AgentLayers) error {
				var err error
				if res, err = cache.Prune(cmd.Context(), s, a, o); err != nil || o.DryRun {
					return err
				}
				stale, err = s.PruneStatCache(cmd.Context())
				return err
			}
			if o.DryRun {
				err = cf.withStore(func(s *cache.BadgerStore) error { return run(s, nil) })
			} else {
				err = cf.withStoreAndAgent(cmd.Context(), run)
			}
			if res != nil {
				if werr := writePrune(cmd, res, o.DryRun, format); err == nil {
					err = werr
				}
			}
			if stale > 0 && format != "json" {
				fmt.Fprintf(cmd.ErrOrStderr(), "dropped %s of files that changed or are gone\n", plural(stale, "file-hash entry", "file-hash entries"))
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.All, "all", false, "also delete layers that templates (refs) use")
	fl.StringVar(&until, "until", "", "only layers not used for at least `DURATION` (e.g. 24h, 7d)")
	fl.StringVar(&keep, "keep-storage", "", "stop once the cache holds at most `SIZE` (e.g. 10GB)")
	fl.StringArrayVar(&filters, "filter", nil, "only layers matching `FILTER` (repeatable)")
	fl.BoolVar(&o.DryRun, "dry-run", false, "show what would be deleted, delete nothing (needs no agent)")
	fl.BoolVar(&o.KeepOrphans, "keep-orphans", false, "leave agent layers that no record points to")
	fl.StringVar(&format, "format", "text", "output format: text or json")
	cf.addAgentFlags(cmd)
	return cmd
}

func writePrune(cmd *cobra.Command, res *cache.PruneResult, dry bool, format string) error {
	w := cmd.OutOrStdout()
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(res)
	}
	verb := "deleted"
	if dry {
		verb = "would delete"
	}
	for _, r := range res.Deleted {
		fmt.Fprintf(w, "%s %s  %s  %s\n", verb, cache.ShortKey(r.Key), humanSize(r.SizeBytes), cutText(r.Text, 60))
	}
	for _, l := range res.Orphans {
		fmt.Fprintf(w, "%s orphan layer %s  %s\n", verb, l.ID, humanSize(l.SizeBytes))
	}
	for _, s := range res.Skipped {
		what := cache.ShortKey(s.Key)
		if s.Key == "" {
			what = "layer " + s.Layer
		}
		fmt.Fprintf(w, "kept %s: %s\n", what, s.Reason)
	}
	freed := "freed"
	if dry {
		freed = "would free"
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s %s and %s, %s %s; %s left\n", verb,
		plural(len(res.Deleted), "layer", "layers"), plural(len(res.Orphans), "orphan", "orphans"),
		freed, humanSize(res.FreedBytes), humanSize(res.LeftBytes))
	return nil
}
