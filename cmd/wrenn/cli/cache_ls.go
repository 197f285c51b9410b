package cli

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/cache"
)

func newCacheLsCmd(cf *cacheFlags) *cobra.Command {
	var filters []string
	var format string
	cmd := &cobra.Command{
		Use:   "ls [flags]",
		Short: "List cached layers, most recently used first",
		Long: `ls prints one row per cached layer: short key, step text, the refs
(templates built with -t) whose build uses it, size, when it was last used,
and how often a build reused it. Held layers (a running build uses them)
are marked with *.

Filters (--filter, repeatable; all must match):
` + cache.FilterHelp + `

Formats (--format):
  table  aligned columns for people (default)
  json   {"records":[{"key":"sha256:…","text":"…","size_bytes":N,
          "created":"RFC 3339","last_used":"RFC 3339","hits":N,
          "refs":["…"]}]} — records is [] when nothing matches`,
		Example: `  wrenn cache ls
  wrenn cache ls --filter ref=web
  wrenn cache ls --filter unused --filter until=7d --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFormat(format, "table", "json"); err != nil {
				return err
			}
			f, err := cache.ParseFilter(filters)
			if err != nil {
				return usageError("%v", err)
			}
			return cf.withReadStore(cmd.ErrOrStderr(), func(s *cache.BadgerStore) error {
				now := time.Now()
				entries, err := cache.List(cmd.Context(), s, f, now)
				if err != nil {
					return err
				}
				if format == "json" {
					return writeLsJSON(cmd.OutOrStdout(), entries)
				}
				return writeLsTable(cmd.OutOrStdout(), entries, now)
			})
		},
	}
	cmd.Flags().StringArrayVar(&filters, "filter", nil, "only layers matching `FILTER` (repeatable; see above)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion("table", "json"))
	return cmd
}

func writeLsJSON(w io.Writer, entries []cache.Entry) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Records []cache.Entry `json:"records"`
	}{entries}); err != nil {
		return err
	}
	return bw.Flush()
}

// writeLsTable prints aligned columns; step text is cut at 50 runes.
func writeLsTable(w io.Writer, entries []cache.Entry, now time.Time) error {
	rows := make([][]string, len(entries))
	for i := range entries {
		e := &entries[i]
		key := cache.ShortKey(e.Key)
		if e.Held {
			key += "*"
		}
		refs := strings.Join(e.Refs, ",")
		if refs == "" {
			refs = "-"
		}
		rows[i] = []string{key, cutText(e.Text, 50), refs, humanSize(e.SizeBytes), relTime(e.LastUsed, now), strconv.FormatInt(e.Hits, 10)}
	}
	return writeTable(w, []string{"KEY", "STEP", "REFS", "SIZE", "LAST USED", "HITS"}, rows)
}

// cutText shortens s to n runes with an ellipsis, on one line.
func cutText(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "\t", " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// humanSize is SI units, as docker and du -h --si print them.
func humanSize(n int64) string {
	if n < 0 {
		n = 0
	}
	return humanize.Bytes(uint64(n))
}

// relTime says how long ago t was, "never" for a zero time.
func relTime(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return humanize.RelTime(t, now, "ago", "from now")
}
