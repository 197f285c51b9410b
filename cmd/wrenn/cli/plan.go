package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
)

// planOptions are the --plan flags of `wrenn compile`.
type planOptions struct {
	Context     string
	BuildArgs   map[string]string
	SkipPrePost bool
	Target      string
	Format      string
	// Cached, when set, reports whether a key is in the layer cache; the
	// text table then gets a CACHE column and the JSON steps a "cached"
	// field.
	Cached func(digest.Digest) (bool, error)
}

// runPlan compiles a checked file into its plan and prints it: a table in
// text format (diagnostics on stderr), or one JSON document with the
// diagnostics and the steps. hasErrors is true when any diagnostic is an
// error; err is for failures to read the build context or write output.
func runPlan(cmd *cobra.Command, w io.Writer, file *lang.File, diags lang.Diagnostics, opts planOptions) (hasErrors bool, err error) {
	copts := compiler.Options{BuildArgs: opts.BuildArgs, SkipPrePost: opts.SkipPrePost, Target: opts.Target}
	ctxPath := opts.Context
	if ctxPath == "" && needsContext(file) {
		ctxPath = defaultContextDir(file.Name)
	}
	if ctxPath != "" {
		bctx, err := compiler.OpenContext(ctxPath, compiler.ContextOptions{})
		if err != nil {
			return true, err
		}
		copts.Context = bctx
	}
	plan, cdiags := compiler.Compile(file, copts)
	all := append(append(lang.Diagnostics{}, diags...), cdiags...).Sort()
	cached := map[int]bool{}
	if opts.Cached != nil {
		for _, s := range plan.Steps {
			ok, err := opts.Cached(s.Key)
			if err != nil {
				return all.HasErrors(), err
			}
			cached[s.ID] = ok
		}
	}
	if opts.Format == formatJSON {
		return all.HasErrors(), writePlanJSON(w, plan, all, cached, opts.Cached != nil)
	}
	if len(all) > 0 {
		report := &diagReport{Diagnostics: all, Sources: sourceSet{file.Name: file.Source}, Files: 1}
		color, _ := useColor(colorAuto, cmd.ErrOrStderr())
		if err := writeText(cmd.ErrOrStderr(), report, color); err != nil {
			return all.HasErrors(), err
		}
	}
	return all.HasErrors(), writePlanText(w, plan, cached, opts.Cached != nil)
}

// needsContext reports whether any COPY reads the build context.
func needsContext(f *lang.File) bool {
	for _, s := range f.Stages {
		for _, in := range s.Instructions {
			if c, ok := in.(*lang.CopyInstr); ok && c.From == "" {
				return true
			}
		}
	}
	return false
}

// defaultContextDir is the Wrennfile's directory, as `docker build .` run
// next to a Dockerfile would use; standard input uses the working directory.
func defaultContextDir(name string) string {
	if name == "" || name == stdinName {
		return "."
	}
	if st, err := os.Stat(name); err != nil || st.IsDir() {
		return "."
	}
	return filepath.Dir(name)
}

func writePlanText(w io.Writer, plan *compiler.Plan, cached map[int]bool, withCache bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	multi := len(plan.Stages) > 1
	head := []string{"STEP"}
	if multi {
		head = append(head, "STAGE")
	}
	head = append(head, "PHASE", "LINE", "KEY")
	if withCache {
		head = append(head, "CACHE")
	}
	head = append(head, "INSTRUCTION")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, s := range plan.Steps {
		row := []string{strconv.Itoa(s.ID)}
		if multi {
			st := plan.Stages[s.Stage]
			name := st.Name
			if name == "" {
				name = strconv.Itoa(st.Index)
			}
			row = append(row, name)
		}
		line := "-"
		if s.Range.Start.Line > 0 {
			line = strconv.Itoa(s.Range.Start.Line)
		}
		row = append(row, string(s.Phase), line, s.Short())
		if withCache {
			c := "missing"
			if cached[s.ID] {
				c = "cached"
			}
			row = append(row, c)
		}
		text := s.Text
		if !s.MakesLayer {
			text += "  (no layer)"
		}
		row = append(row, oneLine(text, 100))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	r := plan.Result
	end := "flatten the rootfs (no healthcheck)"
	if r.Final == compiler.FinalSnapshot {
		end = "snapshot after the healthcheck passes"
	}
	fmt.Fprintf(w, "\n%d steps; default user %s; then %s\nfinal key %s\n", plan.TotalSteps(), r.DefaultUser, end, r.Key)
	for _, b := range plan.Unresolved {
		fmt.Fprintf(w, "note: base template %q is not resolved offline: keys built on it change once its identity is known\n", b)
	}
	return nil
}

// oneLine keeps a table cell on one line and at most max bytes.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}

type planJSONStep struct {
	ID         int         `json:"id"`
	Stage      int         `json:"stage"`
	Phase      string      `json:"phase"`
	Kind       string      `json:"kind"`
	Text       string      `json:"text"`
	Range      *lang.Range `json:"range"`
	Key        string      `json:"key"`
	Parents    []int       `json:"parents"`
	MakesLayer bool        `json:"makes_layer"`
	Cached     *bool       `json:"cached,omitempty"`
}

type planJSONResult struct {
	DefaultUser string            `json:"default_user"`
	DefaultEnv  map[string]string `json:"default_env"`
	Final       string            `json:"final"`
	Key         string            `json:"key"`
}

type planJSON struct {
	Diagnostics lang.Diagnostics `json:"diagnostics"`
	Steps       []planJSONStep   `json:"steps"`
	TotalSteps  int              `json:"total_steps"`
	Result      planJSONResult   `json:"result"`
	Unresolved  []string         `json:"unresolved_bases"`
}

// writePlanJSON prints the plan as one JSON document; hidden pre- and
// post-build steps have a null range; lists are [] rather than null.
func writePlanJSON(w io.Writer, plan *compiler.Plan, diags lang.Diagnostics, cached map[int]bool, withCache bool) error {
	doc := planJSON{Diagnostics: diags, Steps: []planJSONStep{}, TotalSteps: plan.TotalSteps(), Unresolved: plan.Unresolved}
	if doc.Diagnostics == nil {
		doc.Diagnostics = lang.Diagnostics{}
	}
	if doc.Unresolved == nil {
		doc.Unresolved = []string{}
	}
	for _, s := range plan.Steps {
		js := planJSONStep{ID: s.ID, Stage: s.Stage, Phase: string(s.Phase), Kind: string(s.Kind), Text: s.Text,
			Key: s.Key.String(), Parents: s.Parents, MakesLayer: s.MakesLayer}
		if s.Range.Start.Line > 0 {
			r := s.Range
			js.Range = &r
		}
		if js.Parents == nil {
			js.Parents = []int{}
		}
		if withCache {
			c := cached[s.ID]
			js.Cached = &c
		}
		doc.Steps = append(doc.Steps, js)
	}
	r := plan.Result
	doc.Result = planJSONResult{DefaultUser: r.DefaultUser, DefaultEnv: r.DefaultEnv, Final: string(r.Final), Key: r.Key.String()}
	if doc.Result.DefaultEnv == nil {
		doc.Result.DefaultEnv = map[string]string{}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}
