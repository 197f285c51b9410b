package cache

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
)

// Reasons explain gives for a miss, as stable codes for JSON output.
const (
	ReasonAllCached   = "all-cached"
	ReasonNoCache     = "no-cache"
	ReasonNewStep     = "new-step"
	ReasonInstruction = "instruction-changed"
	ReasonFile        = "file-changed"
	ReasonBase        = "base-changed"
	ReasonBuildArg    = "build-arg-changed"
	ReasonArg         = "arg-changed"
	ReasonEnv         = "env-changed"
	ReasonUser        = "user-changed"
	ReasonWorkdir     = "workdir-changed"
	ReasonParent      = "parent-changed"
)

// ExplainOptions say what explain compares with.
type ExplainOptions struct {
	// Ref names the previous build to compare with when no cached step
	// shares the missing step's parent ("" : the ref whose last build
	// came from the same Wrennfile, if any).
	Ref string
	// BuildArgs are the --build-arg values given, so that a changed value
	// is blamed on the flag rather than on an ARG default.
	BuildArgs map[string]string
}

// Explanation says which step of a plan would run first and why.
type Explanation struct {
	// LayerSteps counts the plan's steps that make a layer; Cached how
	// many of them are cached before the first miss.
	LayerSteps int       `json:"layer_steps"`
	Cached     int       `json:"cached"`
	FirstMiss  *MissStep `json:"first_miss"`
	Reason     string    `json:"reason"`
	// Message is the one line a person reads.
	Message string `json:"message"`
	// ComparedWith is the cached step the miss was compared with.
	ComparedWith *Compared `json:"compared_with"`
	// Diffs are every preimage field that differs, most telling first.
	Diffs []FieldDiff `json:"diffs"`
}

// MissStep is the first step that would run.
type MissStep struct {
	Step  int    `json:"step"`
	Phase string `json:"phase"`
	Line  int    `json:"line,omitempty"`
	Text  string `json:"text"`
	Key   string `json:"key"`
}

// Compared is the cached record a miss was compared with.
type Compared struct {
	Key  string `json:"key"`
	Text string `json:"text"`
	Line int    `json:"line,omitempty"`
	// How it was found: "same parent" or "previous build of REF".
	How string `json:"how"`
}

// FieldDiff is one differing preimage field.
type FieldDiff struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Explain finds the first step of plan whose key is not cached (or that is
// marked --no-cache) and says why, by comparing its preimage with the
// closest cached one: a record built on the same parent, else the step at
// the same line in the previous build of the same ref.
func Explain(ctx context.Context, s Store, plan *compiler.Plan, o ExplainOptions) (*Explanation, error) {
	keys := LayerKeys(plan)
	recs, err := s.Lookup(ctx, keys)
	if err != nil {
		return nil, err
	}
	ex := &Explanation{LayerSteps: len(keys), Diffs: []FieldDiff{}}
	var miss *compiler.Step
	for _, st := range plan.Steps {
		if !st.MakesLayer {
			continue
		}
		if _, ok := recs[st.Key.String()]; ok && !st.NoCache {
			ex.Cached++
			continue
		}
		miss = st
		break
	}
	if miss == nil && ex.LayerSteps == 0 {
		ex.Reason = ReasonAllCached
		ex.Message = "the plan has no steps that make a layer: a build would run none"
		return ex, nil
	}
	if miss == nil {
		ex.Reason = ReasonAllCached
		ex.Message = fmt.Sprintf("all %s cached; a build would run none of them", plural(ex.LayerSteps, "layer step is", "layer steps are"))
		return ex, nil
	}
	ex.FirstMiss = &MissStep{Step: miss.ID, Phase: string(miss.Phase), Line: miss.Range.Start.Line, Text: miss.Text, Key: miss.Key.String()}
	e := &explainer{ctx: ctx, s: s, plan: plan, o: o, step: miss}
	if miss.NoCache { // it runs whatever the cache holds
		ex.Reason = ReasonNoCache
		ex.Message = e.label(miss) + ": step marked --no-cache"
		return ex, nil
	}
	cand, how, err := e.closest()
	if err != nil {
		return nil, err
	}
	if cand == nil {
		ex.Reason = ReasonNewStep
		ex.Message = e.label(miss) + ": new step (no cached step with the same parent)"
		if ex.Cached == 0 {
			if keys, err := s.KeysWithPrefix(ctx, "", 1); err == nil && len(keys) == 0 {
				ex.Message = "the cache is empty: every step would run, starting with " + e.label(miss)
			}
		}
		return ex, nil
	}
	ex.ComparedWith = &Compared{Key: cand.rec.Key, Text: cand.rec.Text, Line: cand.rec.Source.Start.Line, How: how}
	for _, d := range cand.diffs {
		ex.Diffs = append(ex.Diffs, FieldDiff{Field: d.Field, Old: d.Old, New: d.New})
	}
	ex.Reason, ex.Message = e.why(cand)
	return ex, nil
}

type explainer struct {
	ctx  context.Context
	s    Store
	plan *compiler.Plan
	o    ExplainOptions
	step *compiler.Step
	pre  *compiler.Preimage
}

// candidate is a cached record and how its preimage differs.
type candidate struct {
	rec   Record
	pre   *compiler.Preimage
	diffs []compiler.PreimageDiff
}

// closest finds the cached record most like the missing step: among the
// records on the same parent the one with the fewest differing fields
// (same source line first, then the most recently used); failing that, the
// step at the same line (or with the same text) in the previous build.
func (e *explainer) closest() (*candidate, string, error) {
	pre, err := compiler.DecodePreimage(e.step.Preimage())
	if err != nil {
		return nil, "", fmt.Errorf("step %d: %w", e.step.ID, err)
	}
	e.pre = pre
	parents := RecordParents(e.plan, e.step)
	if len(parents) > 0 {
		kids, err := e.s.Children(e.ctx, parents[0])
		if err != nil {
			return nil, "", err
		}
		if c, err := e.best(kids, nil); c != nil || err != nil {
			return c, "same parent", err
		}
	}
	ref, err := e.previousBuild()
	if err != nil {
		return nil, "", err
	}
	if ref != nil {
		if c, err := e.best(ref.Keys, e.sameStep); c != nil || err != nil {
			return c, "previous build of " + ref.Name, err
		}
	}
	// No ref: the most recently used records of the same step of this
	// Wrennfile (builds without -t record no ref).
	var same []*Record
	err = e.s.Records(e.ctx, false, func(r Record) error {
		if (r.Source.File == "" || r.Source.File == e.plan.File) && e.sameStep(&r) {
			rc := r
			same = append(same, &rc)
		}
		return nil
	})
	if err != nil || len(same) == 0 {
		return nil, "", err
	}
	sort.Slice(same, func(i, j int) bool { return same[i].LastUsed.After(same[j].LastUsed) })
	var keys []string
	for _, r := range same[:min(len(same), 20)] {
		keys = append(keys, r.Key)
	}
	c, err := e.best(keys, nil)
	return c, "last build of this step", err
}

// sameStep keeps only records that are plausibly the same step: the same
// source line, or the same text.
func (e *explainer) sameStep(r *Record) bool {
	return (r.Source.Start.Line > 0 && r.Source.Start.Line == e.step.Range.Start.Line && r.Source.File == e.step.Range.File) || r.Text == e.step.Text
}

func (e *explainer) best(keys []string, keep func(*Record) bool) (*candidate, error) {
	var ks []string
	for _, k := range keys {
		if k != e.step.Key.String() {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		return nil, nil
	}
	recs, err := e.s.Lookup(e.ctx, ks)
	if err != nil {
		return nil, err
	}
	var cands []*candidate
	for _, k := range ks {
		r, ok := recs[k]
		if !ok || len(r.Preimage) == 0 || (keep != nil && !keep(&r)) {
			continue
		}
		p, err := compiler.DecodePreimage(r.Preimage)
		if err != nil {
			continue // written by another preimage version: not comparable
		}
		cands = append(cands, &candidate{rec: r, pre: p, diffs: compiler.DiffPreimages(p, e.pre)})
	}
	if len(cands) == 0 {
		return nil, nil
	}
	line := e.step.Range.Start.Line
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if len(a.diffs) != len(b.diffs) {
			return len(a.diffs) < len(b.diffs)
		}
		al, bl := a.rec.Source.Start.Line == line, b.rec.Source.Start.Line == line
		if al != bl {
			return al
		}
		return a.rec.LastUsed.After(b.rec.LastUsed)
	})
	return cands[0], nil
}

// previousBuild is the ref named in the options, else the most recent ref
// whose records came from the same Wrennfile.
func (e *explainer) previousBuild() (*Ref, error) {
	if e.o.Ref != "" {
		r, err := e.s.GetRef(e.ctx, e.o.Ref)
		if err == ErrNotFound {
			return nil, nil
		}
		return &r, err
	}
	refs, err := e.s.Refs(e.ctx)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].Created.After(refs[j].Created) })
	for i := range refs {
		if len(refs[i].Keys) == 0 {
			continue
		}
		recs, err := e.s.Lookup(e.ctx, refs[i].Keys)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if r.Source.File != "" && r.Source.File == e.plan.File {
				return &refs[i], nil
			}
		}
	}
	return nil, nil
}

// label names a step for a person: "line 9 COPY app/ /srv/", or for a
// hidden phase step "pre-build step RUN apt update".
func (e *explainer) label(s *compiler.Step) string {
	if s.Range.Start.Line > 0 {
		return fmt.Sprintf("line %d %s", s.Range.Start.Line, s.Text)
	}
	return fmt.Sprintf("%s step %s", s.Phase, s.Text)
}

// lineOf is "line N" for a step, or its phase for a hidden one.
func lineOf(s *compiler.Step) string {
	if s.Range.Start.Line > 0 {
		return fmt.Sprintf("line %d", s.Range.Start.Line)
	}
	return string(s.Phase) + " step"
}

// why turns the field differences into one actionable line. The order is
// what a person changed most directly: the instruction, its files, the
// base, build args, ENV, USER, WORKDIR, and last the parent (which
// differs whenever anything before the step did).
func (e *explainer) why(c *candidate) (string, string) {
	s := e.step
	by := map[string][]compiler.PreimageDiff{}
	for _, d := range c.diffs {
		by[group(d.Field)] = append(by[group(d.Field)], d)
	}
	more := func(list []compiler.PreimageDiff, what string) string {
		if len(list) <= 1 {
			return ""
		}
		return fmt.Sprintf(" (and %d more %s)", len(list)-1, what)
	}
	switch {
	case len(by["instruction"]) > 0:
		if d := by["instruction"][0]; len(by["instruction"]) == 1 && (s.Kind == lang.KindUser || s.Kind == lang.KindWorkdir) {
			return ReasonInstruction, fmt.Sprintf("%s %s %s", lineOf(s), s.Kind, change(d.Old, d.New))
		}
		if c.rec.Text != "" && c.rec.Text != s.Text {
			return ReasonInstruction, fmt.Sprintf("%s: instruction changed (was: %s)", e.label(s), c.rec.Text)
		}
		d := by["instruction"][0]
		return ReasonInstruction, fmt.Sprintf("%s: %s changed from %s to %s", e.label(s), d.Field, show(d.Old), show(d.New))
	case len(by["inputs"]) > 0:
		return ReasonFile, e.label(s) + ": " + fileChange(by["inputs"]) + moreFiles(by["inputs"])
	case len(by["base"]) > 0:
		return ReasonBase, e.baseChanged(c, by["base"])
	case len(by["build_args"]) > 0:
		d := by["build_args"][0]
		name := strings.TrimPrefix(d.Field, "build_args.")
		if _, given := e.o.BuildArgs[name]; given {
			return ReasonBuildArg, fmt.Sprintf("--build-arg %s %s%s", name, change(d.Old, d.New), more(by["build_args"], "build args"))
		}
		if t := e.setter(func(x *compiler.Step) bool { return x.Kind == lang.KindArg }, func(x *compiler.Step) string { return x.Args()[name] }); t != nil {
			return ReasonArg, fmt.Sprintf("%s ARG %s %s%s", lineOf(t), name, change(d.Old, d.New), more(by["build_args"], "build args"))
		}
		return ReasonBuildArg, fmt.Sprintf("%s: build arg %s %s%s", e.label(s), name, change(d.Old, d.New), more(by["build_args"], "build args"))
	case len(by["env"]) > 0:
		d := by["env"][0]
		name := strings.TrimPrefix(d.Field, "env.")
		t := e.setter(nil, func(x *compiler.Step) string { return x.Env()[name] })
		switch {
		case t != nil && t.Kind == lang.KindEnv:
			return ReasonEnv, fmt.Sprintf("%s ENV %s %s%s", lineOf(t), name, change(d.Old, d.New), more(by["env"], "env changes"))
		case t != nil:
			return ReasonEnv, fmt.Sprintf("%s %s: env %s %s%s", lineOf(t), t.Text, name, change(d.Old, d.New), more(by["env"], "env changes"))
		case d.New == absentValue:
			return ReasonEnv, fmt.Sprintf("%s: ENV %s is no longer set (was %s)%s", e.label(s), name, d.Old, more(by["env"], "env changes"))
		}
		return ReasonEnv, fmt.Sprintf("%s: env %s from the base template %s%s", e.label(s), name, change(d.Old, d.New), more(by["env"], "env changes"))
	case len(by["user"]) > 0:
		d := by["user"][0]
		if t := e.setter(nil, func(x *compiler.Step) string { return x.User }); t != nil && t.Kind == lang.KindUser {
			return ReasonUser, fmt.Sprintf("%s USER %s", lineOf(t), change(d.Old, d.New))
		}
		return ReasonUser, fmt.Sprintf("%s: user %s", e.label(s), change(d.Old, d.New))
	case len(by["workdir"]) > 0:
		d := by["workdir"][0]
		if t := e.setter(nil, func(x *compiler.Step) string { return x.Workdir }); t != nil && t.Kind == lang.KindWorkdir {
			return ReasonWorkdir, fmt.Sprintf("%s WORKDIR %s", lineOf(t), change(d.Old, d.New))
		}
		return ReasonWorkdir, fmt.Sprintf("%s: workdir %s", e.label(s), change(d.Old, d.New))
	case len(by["parents"]) > 0:
		if base, ok := e.stageBaseOf(s); ok && len(s.Parents) == 0 {
			return ReasonBase, fmt.Sprintf("base template %s changed since the last build (base key %s -> %s)", base, shortDigest(by["parents"][0].Old), shortDigest(by["parents"][0].New))
		}
		if len(s.Parents) > 0 {
			if p := e.plan.Step(s.Parents[0]); p != nil {
				return ReasonParent, fmt.Sprintf("%s: parent changed at %s %s", e.label(s), lineOf(p), p.Text)
			}
		}
		return ReasonParent, fmt.Sprintf("%s: parent changed", e.label(s))
	}
	return ReasonNewStep, e.label(s) + ": no cached step matches, though none of its key's fields differ from the closest one"
}

// group maps a preimage field to the kind of change it is.
func group(field string) string {
	switch {
	case field == "kind" || field == "version" || field == "sources" || strings.HasPrefix(field, "args."):
		return "instruction"
	case strings.HasPrefix(field, "inputs["):
		return "inputs"
	case strings.HasPrefix(field, "base."):
		return "base"
	case strings.HasPrefix(field, "build_args."):
		return "build_args"
	case strings.HasPrefix(field, "env."):
		return "env"
	case field == "user":
		return "user"
	case field == "workdir":
		return "workdir"
	case strings.HasPrefix(field, "parents["):
		return "parents"
	}
	return "other"
}

// absentValue is how compiler.DiffPreimages shows a missing map entry.
const absentValue = "<absent>"

func change(old, new string) string {
	switch {
	case old == absentValue:
		return "set to " + show(new) + " (was unset)"
	case new == absentValue:
		return "unset (was " + show(old) + ")"
	}
	return "changed from " + show(old) + " to " + show(new)
}

// show prints a value as written unless quoting makes it clearer (empty,
// or with spaces at either end).
func show(v string) string {
	if v == "" || strings.TrimSpace(v) != v {
		return fmt.Sprintf("%q", v)
	}
	return v
}

// fileChange describes the first differing input of a COPY.
func fileChange(ds []compiler.PreimageDiff) string {
	d := ds[0]
	field := strings.TrimPrefix(d.Field, "inputs[")
	path, attr, _ := strings.Cut(field, "]")
	attr = strings.TrimPrefix(attr, ".")
	switch {
	case attr == "" && d.Old == absentValue:
		return fmt.Sprintf("%s %s added", kindWord(d.New), path)
	case attr == "" && d.New == absentValue:
		return fmt.Sprintf("%s %s removed", kindWord(d.Old), path)
	case attr == "digest":
		return fmt.Sprintf("file %s changed (%s -> %s)", path, shortDigest(d.Old), shortDigest(d.New))
	case attr == "mode":
		return fmt.Sprintf("%s mode changed from %s to %s", path, d.Old, d.New)
	case attr == "link":
		return fmt.Sprintf("symlink %s now points to %s (was %s)", path, show(d.New), show(d.Old))
	case attr == "type":
		return fmt.Sprintf("%s changed from a %s to a %s", path, kindWord(d.Old), kindWord(d.New))
	}
	return fmt.Sprintf("%s %s changed", path, attr)
}

// moreFiles counts the other paths that differ.
func moreFiles(ds []compiler.PreimageDiff) string {
	paths := map[string]bool{}
	for _, d := range ds {
		p, _, _ := strings.Cut(strings.TrimPrefix(d.Field, "inputs["), "]")
		paths[p] = true
	}
	if n := len(paths) - 1; n > 0 {
		return fmt.Sprintf(" and %s", plural(n, "more file changed", "more files changed"))
	}
	return ""
}

func kindWord(t string) string {
	switch t {
	case "dir":
		return "directory"
	case "symlink":
		return "symlink"
	}
	return "file"
}

// shortDigest is "sha256:" and 8 hex digits, enough to tell two apart.
func shortDigest(d string) string {
	dg, err := digest.Parse(d)
	if err != nil {
		return show(d)
	}
	h := dg.Encoded()
	if len(h) > 8 {
		h = h[:8] + "…"
	}
	return dg.Algorithm().String() + ":" + h
}

// setter walks back from the missing step along its chain and returns the
// nearest step that changed value (compared with the step before it, or
// with the stage's start for the first step). only, when set, limits the
// steps considered.
func (e *explainer) setter(only func(*compiler.Step) bool, value func(*compiler.Step) string) *compiler.Step {
	var chain []*compiler.Step
	seen := map[int]bool{}
	for s := e.step; s != nil && !seen[s.ID]; {
		seen[s.ID] = true
		chain = append(chain, s)
		if len(s.Parents) == 0 {
			break
		}
		s = e.plan.Step(s.Parents[0])
	}
	// chain[0] is the missing step; a setter is before it. A step's state
	// is what it runs in, so the change made by chain[i] shows in the
	// state of chain[i-1].
	for i := 1; i < len(chain); i++ {
		t := chain[i]
		if only != nil && !only(t) {
			continue
		}
		after := chain[i-1]
		if value(after) != value(t) {
			return t
		}
	}
	return nil
}

// stageBaseOf names the base template of the step's stage, when the stage
// starts from a template.
func (e *explainer) stageBaseOf(s *compiler.Step) (string, bool) {
	if s.Stage < 0 || s.Stage >= len(e.plan.Stages) {
		return "", false
	}
	st := e.plan.Stages[s.Stage]
	if st.BaseStage >= 0 {
		return "", false
	}
	return st.Base, true
}

func (e *explainer) baseChanged(c *candidate, ds []compiler.PreimageDiff) string {
	name := ""
	if e.pre.Base != nil {
		name = e.pre.Base.Template
	}
	for _, d := range ds {
		if d.Field == "base.digest" {
			return fmt.Sprintf("base template %s changed (%s -> %s)", name, shortDigest(d.Old), shortDigest(d.New))
		}
	}
	d := ds[0]
	return fmt.Sprintf("base template %s: %s changed from %s to %s", name, d.Field, show(d.Old), show(d.New))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
