package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
)

// explainFlags are the flags of `wrenn cache explain`.
type explainFlags struct {
	file        string
	context     string
	buildArgs   []string
	target      string
	skipPrePost bool
	ref         string
	format      string
}

func newCacheExplainCmd(cf *cacheFlags) *cobra.Command {
	f := &explainFlags{}
	cmd := &cobra.Command{
		Use:   "explain [flags] [-f Wrennfile]",
		Short: "Say which step a build would run first, and why its cache missed",
		Long: `explain compiles the Wrennfile as 'wrenn build' would (same --context,
--build-arg, --target and --skip-pre-post), looks up every step's layer key,
finds the first step that would run, and says why in one line, by
comparing that step's key preimage with the closest cached one: a cached
step built on the same parent, else the same step in the previous build of
the template (--ref, or the last build of this Wrennfile). For example:

  line 9 COPY app/ /srv/: file app/main.py changed (sha256:ab12… -> sha256:cd34…)
  line 3 ENV APP_HOME changed from /srv/app to /opt/app
  --build-arg VERSION changed from 1 to 2
  base template minimal changed since the last build (base key sha256:… -> …)
  line 4 RUN make: new step (no cached step with the same parent)

The text output adds every differing field after the line; --format json
gives {"layer_steps":N,"cached":N,"first_miss":{"step","phase","line","text",
"key"}|null,"reason":"…","message":"…","compared_with":{…}|null,
"diffs":[{"field","old","new"}]}. Reasons: all-cached, no-cache, new-step,
instruction-changed, file-changed, base-changed, base-unknown,
build-arg-changed, arg-changed, env-changed, user-changed, workdir-changed,
parent-changed.

Base templates are identified as the last build with this cache saw them
(explain needs no agent), so a base re-imported since then shows up only
in the next build.`,
		Example: `  wrenn cache explain -f Wrennfile --context .
  wrenn cache explain --build-arg VERSION=2 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runExplain(cmd, cf, f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "Wrennfile", "the Wrennfile `PATH`")
	fl.StringVar(&f.context, "context", "", "build context `DIR` or archive (tar, tar.gz, zip)")
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "set an ARG value, `NAME=VALUE` (repeatable)")
	fl.StringVar(&f.target, "target", "", "explain the build of this `STAGE`")
	fl.BoolVar(&f.skipPrePost, "skip-pre-post", false, "leave out the hidden pre- and post-build phases")
	fl.StringVar(&f.ref, "ref", "", "compare with the last build of template `NAME` (as given to build -t)")
	fl.StringVar(&f.format, "format", "text", "output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion("text", "json"))
	_ = cmd.MarkFlagDirname("context")
	return cmd
}

func runExplain(cmd *cobra.Command, cf *cacheFlags, f *explainFlags) error {
	if err := checkOutputFormat(f.format, "text", "json"); err != nil {
		return err
	}
	args, err := parseBuildArgs(f.buildArgs)
	if err != nil {
		return err
	}
	src, err := os.ReadFile(f.file)
	if err != nil {
		return exitCode(ExitFailure, fmt.Errorf("cannot read %s: %w", f.file, unwrapPath(err)))
	}
	co := checkOptions{SkipPrePost: f.skipPrePost}
	if st, err := os.Stat(f.context); err == nil && st.IsDir() {
		co.ContextDir = f.context
	}
	file, diags := checkFile(f.file, src, co)
	if diags.HasErrors() {
		return reportDiags(cmd, f.file, src, diags)
	}
	return cf.withReadStore(cmd.ErrOrStderr(), func(s *cache.BadgerStore) error {
		ctx := cmd.Context()
		opts := compiler.Options{BuildArgs: args, SkipPrePost: f.skipPrePost, Target: f.target}
		if err := cache.BaseOptions(ctx, s, &opts); err != nil {
			return err
		}
		if f.context != "" {
			c, err := compiler.OpenContext(f.context, compiler.ContextOptions{StatCache: cache.NewStatCache(ctx, s)})
			if err != nil {
				return exitCode(ExitFailure, fmt.Errorf("build context %s: %w", f.context, err))
			}
			opts.Context = c
		}
		plan, cdiags := compiler.Compile(file, opts)
		ex, errs, err := explainPlan(ctx, s, plan, cdiags, cache.ExplainOptions{Ref: f.ref, BuildArgs: args})
		if err != nil {
			return err
		}
		if len(errs) > 0 {
			return reportDiags(cmd, f.file, src, errs)
		}
		return writeExplain(cmd.OutOrStdout(), ex, f.format)
	})
}

// explainPlan explains a compiled plan. Compile errors other than an
// unknown base come back as diagnostics to report; a base template no
// build with this cache has used is itself the explanation.
func explainPlan(ctx context.Context, s cache.Store, plan *compiler.Plan, cdiags lang.Diagnostics, o cache.ExplainOptions) (*cache.Explanation, lang.Diagnostics, error) {
	var unknownBase []string
	var errs lang.Diagnostics
	for _, d := range cdiags {
		switch {
		case d.Code == compiler.CodeBaseUnknown:
			unknownBase = append(unknownBase, d.Message)
		case d.Severity == lang.SeverityError:
			errs = append(errs, d)
		}
	}
	if len(errs) > 0 {
		return nil, errs, nil
	}
	if len(unknownBase) > 0 {
		ex := &cache.Explanation{Reason: "base-unknown", Diffs: []cache.FieldDiff{}, Message: unknownBase[0] + ": every step would run"}
		if st := firstLayerStep(plan); st != nil {
			ex.FirstMiss = &cache.MissStep{Step: st.ID, Phase: string(st.Phase), Line: st.Range.Start.Line, Text: st.Text, Key: st.Key.String()}
		}
		return ex, nil, nil
	}
	ex, err := cache.Explain(ctx, s, plan, o)
	return ex, nil, err
}

func firstLayerStep(p *compiler.Plan) *compiler.Step {
	for _, s := range p.Steps {
		if s.MakesLayer {
			return s
		}
	}
	return nil
}

// reportDiags prints a file's errors as `wrenn compile` does and fails.
func reportDiags(cmd *cobra.Command, name string, src []byte, diags lang.Diagnostics) error {
	r := &diagReport{Diagnostics: diags, Sources: sourceSet{name: src}, Files: 1}
	if err := writeReport(cmd.ErrOrStderr(), r, printOptions{Format: formatText}); err != nil {
		return err
	}
	return exitCode(ExitFailure, fmt.Errorf("%s has errors; fix them first ('wrenn compile %s')", name, name))
}

func writeExplain(w io.Writer, ex *cache.Explanation, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(ex)
	}
	fmt.Fprintln(w, ex.Message)
	if ex.FirstMiss != nil && ex.Reason != cache.ReasonAllCached {
		fmt.Fprintf(w, "  %d of %d layer steps cached before it; it and the steps after it would run\n", ex.Cached, ex.LayerSteps)
	}
	if c := ex.ComparedWith; c != nil {
		where := ""
		if c.Line > 0 {
			where = fmt.Sprintf(" line %d", c.Line)
		}
		fmt.Fprintf(w, "  compared with %s (%s%s: %s)\n", cache.ShortKey(c.Key), c.How, where, cutText(c.Text, 60))
		for _, d := range ex.Diffs {
			fmt.Fprintf(w, "    %s: %s -> %s\n", d.Field, cutText(d.Old, 70), cutText(d.New, 70))
		}
	}
	return nil
}
