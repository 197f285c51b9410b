package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
)

func newCacheInspectCmd(cf *cacheFlags) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [flags] KEY|PREFIX",
		Short: "Show everything known about one cached layer",
		Long: `inspect prints one layer's record: step text and source position, the
agent snapshot, size, times and hits, the refs that use it, its key
preimage field by field (what the key was computed from), and its chain of
parents back to the base template.

KEY may be a full key or any unique prefix of its hex digits (as ls prints
them); an ambiguous prefix lists the candidates.

Formats (--format): text (default) or json.`,
		Example: `  wrenn cache inspect 3f2a9c1b7e44`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutputFormat(format, "text", "json"); err != nil {
				return err
			}
			return cf.withReadStore(cmd.ErrOrStderr(), func(s *cache.BadgerStore) error {
				key, err := resolveKey(cmd.Context(), s, args[0])
				if err != nil {
					return exitCode(ExitFailure, err)
				}
				info, err := inspectKey(cmd.Context(), s, key)
				if err != nil {
					return err
				}
				if format == "json" {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					enc.SetEscapeHTML(false)
					return enc.Encode(info)
				}
				writeInspect(cmd.OutOrStdout(), info, time.Now())
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// resolveKey turns a key or unique prefix into a stored key.
func resolveKey(ctx context.Context, s cache.Store, arg string) (string, error) {
	p := cache.NormalizePrefix(arg)
	if len(p) <= len("sha256:") {
		return "", fmt.Errorf("empty key prefix %q", arg)
	}
	keys, err := s.KeysWithPrefix(ctx, p, 11)
	if err != nil {
		return "", err
	}
	switch len(keys) {
	case 0:
		return "", fmt.Errorf("no cached layer has a key starting with %s", strings.TrimPrefix(p, "sha256:"))
	case 1:
		return keys[0], nil
	}
	recs, err := s.Lookup(ctx, keys)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "key prefix %s is ambiguous; it matches:", strings.TrimPrefix(p, "sha256:"))
	for i, k := range keys {
		if i == 10 {
			b.WriteString("\n  … and more; give more digits")
			break
		}
		fmt.Fprintf(&b, "\n  %s  %s", strings.TrimPrefix(k, "sha256:")[:20], cutText(recs[k].Text, 60))
	}
	return "", fmt.Errorf("%s", b.String())
}

// inspectInfo is inspect's JSON document.
type inspectInfo struct {
	Record   cache.Record        `json:"record"`
	Refs     []string            `json:"refs"`
	Held     bool                `json:"held"`
	Children []string            `json:"children"`
	Preimage *compiler.Preimage  `json:"preimage"`
	Chain    []inspectChainEntry `json:"chain"`
	// PreimageError says why the preimage could not be decoded.
	PreimageError string `json:"preimage_error,omitempty"`
}

type inspectChainEntry struct {
	Key    string `json:"key"`
	Text   string `json:"text,omitempty"`
	Line   int    `json:"line,omitempty"`
	Cached bool   `json:"cached"`
}

func inspectKey(ctx context.Context, s cache.Store, key string) (*inspectInfo, error) {
	rec, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	g, err := cache.LoadGraph(ctx, s, time.Now())
	if err != nil {
		return nil, err
	}
	info := &inspectInfo{Record: rec, Refs: g.RefsOf[key], Held: g.Held[key], Children: g.Children[key], Chain: []inspectChainEntry{}}
	if info.Refs == nil {
		info.Refs = []string{}
	}
	if info.Children == nil {
		info.Children = []string{}
	}
	if len(rec.Preimage) > 0 {
		if p, err := compiler.DecodePreimage(rec.Preimage); err == nil {
			info.Preimage = p
		} else {
			info.PreimageError = err.Error()
		}
	}
	for _, k := range g.Chain(key) {
		e := inspectChainEntry{Key: k}
		if r := g.Records[k]; r != nil {
			e.Text, e.Line, e.Cached = r.Text, r.Source.Start.Line, true
		}
		info.Chain = append(info.Chain, e)
	}
	return info, nil
}

func writeInspect(w io.Writer, in *inspectInfo, now time.Time) {
	r := &in.Record
	field := func(name, format string, args ...any) {
		fmt.Fprintf(w, "%-11s %s\n", name+":", fmt.Sprintf(format, args...))
	}
	field("key", "%s", r.Key)
	field("step", "%s", r.Text)
	if r.Source.File != "" || r.Source.Start.Line > 0 {
		field("source", "%s:%d:%d", orUnknown(r.Source.File), r.Source.Start.Line, r.Source.Start.Column)
	}
	field("snapshot", "%s %s on agent %s", r.Snapshot.Kind, r.Snapshot.ID, orUnknown(r.Snapshot.Agent))
	field("size", "%s (%d bytes)", humanSize(r.SizeBytes), r.SizeBytes)
	if r.Digest != "" {
		field("digest", "%s", r.Digest)
	}
	field("created", "%s (%s)", r.Created.Local().Format(time.RFC3339), relTime(r.Created, now))
	field("last used", "%s (%s)", r.LastUsed.Local().Format(time.RFC3339), relTime(r.LastUsed, now))
	field("hits", "%d", r.Hits)
	if r.Template != "" || r.Stage != "" {
		t := orUnknown(r.Template)
		if r.Stage != "" {
			t += " (stage " + r.Stage + ")"
		}
		field("built by", "%s", t)
	}
	field("refs", "%s", orNone(strings.Join(in.Refs, ", ")))
	held := "no"
	if in.Held {
		held = "yes (a running build uses it; prune leaves it)"
	}
	field("held", "%s", held)
	field("children", "%d", len(in.Children))
	switch {
	case in.Preimage != nil:
		fmt.Fprintln(w, "preimage:")
		writePreimage(w, in.Preimage)
	case in.PreimageError != "":
		field("preimage", "cannot decode: %s", in.PreimageError)
	default:
		field("preimage", "(not stored)")
	}
	fmt.Fprintln(w, "chain (this layer first, back to the base):")
	for _, e := range in.Chain {
		short := cache.ShortKey(e.Key)
		switch {
		case !e.Cached:
			fmt.Fprintf(w, "  %s  (no record: the base template or a step without a layer)\n", short)
		case e.Line > 0:
			fmt.Fprintf(w, "  %s  line %d %s\n", short, e.Line, cutText(e.Text, 60))
		default:
			fmt.Fprintf(w, "  %s  %s\n", short, cutText(e.Text, 60))
		}
	}
}

// writePreimage prints the fields of a key preimage, maps sorted.
func writePreimage(w io.Writer, p *compiler.Preimage) {
	line := func(name, value string) { fmt.Fprintf(w, "  %-11s %s\n", name+":", value) }
	multi := func(name string, m map[string]string) {
		if len(m) == 0 {
			line(name, "(none)")
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i == 0 {
				line(name, k+"="+m[k])
			} else {
				fmt.Fprintf(w, "  %-11s %s=%s\n", "", k, m[k])
			}
		}
	}
	line("version", fmt.Sprint(p.Version))
	line("kind", p.Kind)
	multi("args", p.Args)
	if len(p.Sources) > 0 {
		line("sources", strings.Join(p.Sources, " "))
	}
	if p.Base != nil {
		b := p.Base.Template + " " + string(p.Base.Digest)
		if p.Base.Unresolved {
			b += " (unresolved: derived from the name)"
		}
		line("base", b)
	}
	line("user", orNone(p.User))
	line("workdir", orNone(p.Workdir))
	multi("env", p.Env)
	multi("build_args", p.BuildArgs)
	if len(p.Inputs) > 0 {
		for i, in := range p.Inputs {
			name := ""
			if i == 0 {
				name = "inputs:"
			}
			v := fmt.Sprintf("%s %s %04o", in.Path, in.Type, in.Mode)
			if in.Digest != "" {
				v += " " + string(in.Digest)
			}
			if in.Link != "" {
				v += " -> " + in.Link
			}
			fmt.Fprintf(w, "  %-11s %s\n", name, v)
		}
	}
	for i, par := range p.Parents {
		name := ""
		if i == 0 {
			name = "parents:"
		}
		fmt.Fprintf(w, "  %-11s %s\n", name, par)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
