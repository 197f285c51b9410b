package compiler

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/lang"
)

// Diagnostic codes Compile reports.
const (
	CodeTargetUnknown     = "target-unknown"
	CodeBaseUnknown       = "base-unknown"
	CodeCopyFromUnknown   = "copy-from-unknown"
	CodeCopyNoContext     = "copy-no-context"
	CodeCopySourceMissing = "copy-source-missing"
	CodeCopySourceInvalid = "copy-source-invalid"
	CodeCopyContextRead   = "copy-context-read"
	CodeCopyChmodInvalid  = "copy-chmod-invalid"
	CodeBuildArgUnused    = "build-arg-unused"
)

// The seed's hidden phases, verbatim.
var (
	preBuildLines  = []string{"RUN apt update", "USER " + BuildUser, "WORKDIR /home/" + BuildUser}
	postBuildLines = []string{"RUN apt clean", "RUN apt autoremove -y", "RUN rm -rf /var/lib/apt/lists/*", "RUN rm -rf /tmp/build-files /tmp/build-files.*"}
)

// Compile lowers a parsed Wrennfile into a Plan. It always returns a plan
// (with whatever could be compiled) and the problems found, as
// diagnostics with ranges: unknown target or stages, missing COPY sources,
// an unreadable build context. Diagnostics the parser already reported are
// not repeated.
//
// Each stage is a chain of steps starting from its base: a template
// (identity from Options.ResolveBase) or an earlier stage's last step.
// Stages that start from a template get the pre-build phase; the target
// stage ends with the post-build phase; both are left out with
// skip-pre-post.
func Compile(f *lang.File, opts Options) (*Plan, lang.Diagnostics) {
	c := &compiler{
		file:     f,
		opts:     opts,
		plan:     &Plan{File: f.Name},
		results:  map[int]*stageResult{},
		usedArgs: map[string]bool{},
		skip:     opts.SkipPrePost || fileSkipsPrePost(f),
		mu:       new(sync.Mutex),
	}
	c.run()
	return c.plan, c.diags.Sort()
}

// fileSkipsPrePost reads the skip-pre-post directive: through
// File.SkipPrePost when the lang package provides it, else from the
// directive list.
func fileSkipsPrePost(f *lang.File) bool {
	if s, ok := any(f).(interface{ SkipPrePost() bool }); ok {
		return s.SkipPrePost()
	}
	for _, d := range f.Directives {
		if strings.EqualFold(d.Key, "skip-pre-post") {
			switch strings.ToLower(strings.TrimSpace(d.Value)) {
			case "", "true", "1", "yes", "on":
				return true
			}
		}
	}
	return false
}

type compiler struct {
	file     *lang.File
	opts     Options
	plan     *Plan
	diags    lang.Diagnostics
	stages   []*lang.Stage
	results  map[int]*stageResult // by source stage index
	usedArgs map[string]bool
	skip     bool

	mu *sync.Mutex // the plan's stateNodes' lock
	// Steps and their parent lists are carved from shared slabs: a few
	// allocations per plan rather than two per step.
	stepSlab  []Step
	intSlab   []int
	restBuf   []byte // scratch: a step's preimage after build_args
	resultEnv []byte // Result.DefaultEnv as preimage JSON
	stepsLeft int    // instructions not lowered yet, to size stepSlab
}

// newStep returns a step from the slab with the fields every step has.
// The other fields are set one by one on the zeroed slot: copying a whole
// Step literal in would run the GC's write barrier over every pointer
// field of the struct.
func (c *compiler) newStep(phase Phase, kind lang.Kind, text string, r lang.Range, noCache bool) *Step {
	if len(c.stepSlab) == cap(c.stepSlab) {
		c.stepSlab = make([]Step, 0, min(max(c.stepsLeft, 8), 1024))
	}
	c.stepsLeft--
	c.stepSlab = c.stepSlab[:len(c.stepSlab)+1]
	st := &c.stepSlab[len(c.stepSlab)-1]
	st.Phase, st.Kind, st.Text, st.Range, st.NoCache = phase, kind, text, r, noCache
	return st
}

// ints copies ids into the int slab; the result is never nil.
func (c *compiler) ints(ids []int) []int {
	if cap(c.intSlab)-len(c.intSlab) < len(ids) || c.intSlab == nil {
		c.intSlab = make([]int, 0, max(512, len(ids)))
	}
	n := len(c.intSlab)
	c.intSlab = append(c.intSlab, ids...)
	return c.intSlab[n:len(c.intSlab):len(c.intSlab)]
}

// stageResult is where a compiled stage ended: what later stages start
// from or copy out of.
type stageResult struct {
	planIdx  int
	end      state
	lastID   int
	finalKey digest.Digest
}

// state is what a step runs in. env and args are the chain's own, changed
// in place; node is the same env and ARG values as a persistent state
// that steps keep.
type state struct {
	user    string
	workdir string
	env     map[string]string
	args    map[string]string
	node    *stateNode
}

func (s state) clone() state {
	return state{user: s.user, workdir: s.workdir, env: copyMap(s.env), args: copyMap(s.args), node: s.node}
}

func (s state) lookup(name string) (string, bool) {
	if v, ok := s.env[name]; ok {
		return v, true
	}
	v, ok := s.args[name]
	return v, ok
}

func (c *compiler) errorAt(r lang.Range, code, msg, detail string) {
	c.diags = append(c.diags, lang.Diagnostic{Severity: lang.SeverityError, Code: code, Message: msg, Detail: detail, Range: r})
}

// fileStart is the range diagnostics without a better place point at.
func (c *compiler) fileStart() lang.Range {
	p := lang.Pos{Line: 1, Column: 1}
	return lang.Range{File: c.file.Name, Start: p, End: p}
}

func (c *compiler) run() {
	c.stages = c.file.Stages
	if len(c.stages) == 0 {
		c.stages = []*lang.Stage{{Index: 0}}
	}
	target := len(c.stages) - 1
	if c.opts.Target != "" {
		i, ok := c.stageIndex(c.opts.Target, len(c.stages))
		if !ok {
			var names []string
			for _, s := range c.stages {
				if s.Name != "" {
					names = append(names, s.Name)
				}
			}
			detail := "the file has no named stages"
			if len(names) > 0 {
				detail = "stages: " + strings.Join(names, ", ")
			}
			c.errorAt(c.fileStart(), CodeTargetUnknown, fmt.Sprintf("target stage %q not found", c.opts.Target), detail)
		} else {
			target = i
		}
	}
	needed := make([]bool, len(c.stages))
	c.need(target, needed)
	for i, s := range c.stages {
		if needed[i] {
			c.compileStage(s, i == target)
		}
	}
	c.reportUnusedArgs()
}

// stageIndex finds a stage by name (case-insensitive, as Docker) or by
// index among the first limit stages.
func (c *compiler) stageIndex(ref string, limit int) (int, bool) {
	for i := 0; i < limit && i < len(c.stages); i++ {
		if c.stages[i].Name != "" && strings.EqualFold(c.stages[i].Name, ref) {
			return i, true
		}
	}
	if n, err := strconv.Atoi(ref); err == nil && n >= 0 && n < limit && n < len(c.stages) {
		return n, true
	}
	return 0, false
}

// need marks stage i and every stage it starts from or copies from.
func (c *compiler) need(i int, needed []bool) {
	if needed[i] {
		return
	}
	needed[i] = true
	s := c.stages[i]
	if b, ok := c.baseStage(s, i); ok {
		c.need(b, needed)
	}
	for _, in := range s.Instructions {
		if cp, ok := in.(*lang.CopyInstr); ok && cp.From != "" {
			if b, ok := c.stageIndex(cp.From, i); ok {
				c.need(b, needed)
			}
		}
	}
}

// baseStage reports whether a stage starts from an earlier stage.
func (c *compiler) baseStage(s *lang.Stage, i int) (int, bool) {
	if s.Base == "" {
		return 0, false
	}
	for j := 0; j < i; j++ {
		if c.stages[j].Name != "" && strings.EqualFold(c.stages[j].Name, s.Base) {
			return j, true
		}
	}
	return 0, false
}

// chain builds one stage's steps.
type chain struct {
	c         *compiler
	stage     int // plan index
	st        state
	parentKey digest.Digest
	parentID  int
	// vars mirrors st.env and st.args with what keys share while they
	// do not change (encodings, the hashed key prefix).
	vars envState
	// chown is chownSpec("", chownUser), kept while the user stays.
	chownUser, chown string
	// uw is appendUserWorkdir of uwUser and uwWorkdir.
	uw                []byte
	uwUser, uwWorkdir string
}

func (c *compiler) compileStage(s *lang.Stage, isTarget bool) {
	ps := &Stage{Index: s.Index, Name: s.Name, Base: s.Base, BaseStage: -1, Range: s.Range}
	planIdx := len(c.plan.Stages)
	c.plan.Stages = append(c.plan.Stages, ps)
	ch := &chain{c: c, stage: planIdx}

	if b, ok := c.baseStage(s, s.Index); ok && c.results[b] != nil {
		r := c.results[b]
		ps.BaseStage, ps.BaseKey = r.planIdx, r.finalKey
		ch.st = r.end.clone()
		if len(ch.st.args) > 0 { // ARGs are scoped to their stage
			ch.st.args = map[string]string{}
			ch.st.node = ch.st.node.with(opClearArgs, "", "")
		}
		ch.vars.reset(ch.st.env, ch.st.args)
		ch.parentKey, ch.parentID = r.finalKey, r.lastID
	} else {
		template := s.Base
		if template == "" {
			template = cmp(c.opts.BaseTemplate, DefaultBaseTemplate)
		}
		ps.Base = template
		id, err := c.opts.baseIdentity(template)
		if err != nil {
			r := c.fileStart()
			if s.From != nil {
				r = s.From.Base.Range
			}
			c.errorAt(r, CodeBaseUnknown, fmt.Sprintf("base template %q: %v", template, err), "")
		}
		if id.Unresolved && !slices.Contains(c.plan.Unresolved, template) {
			c.plan.Unresolved = append(c.plan.Unresolved, template)
		}
		env := c.opts.baseEnv(template)
		pre := &Preimage{Version: PreimageVersion, Kind: "BASE", Base: &id, Env: env}
		ps.BasePreimage = pre.Encode()
		ps.BaseKey = digest.FromBytes(ps.BasePreimage)
		ps.BaseEnv = copyMap(env)
		ch.st = state{user: "root", env: copyMap(env), args: map[string]string{}, node: newRootState(c.mu, env, nil)}
		ch.vars.reset(ch.st.env, ch.st.args)
		ch.parentKey = ps.BaseKey
		if !c.skip {
			ch.hidden(PhasePreBuild, preBuildLines)
		}
	}

	c.stepsLeft = len(s.Instructions) + len(postBuildLines)
	var hc *lang.HealthcheckInstr
	var starts []*Step
	for _, in := range s.Instructions {
		switch x := in.(type) {
		case *lang.HealthcheckInstr:
			hc = x
		case *lang.FromInstr:
		default:
			if st := ch.lower(in); st != nil && st.Kind == lang.KindStart {
				starts = append(starts, st)
			}
		}
	}
	ps.FinalKey = ch.parentKey
	c.results[s.Index] = &stageResult{planIdx: planIdx, end: ch.st.clone(), lastID: ch.parentID, finalKey: ch.parentKey}
	if !isTarget {
		return
	}
	c.result(ch, hc, starts)
	ch.st.user = "root" // the seed runs post-build as root, env and workdir kept
	if !c.skip {
		ch.hidden(PhasePostBuild, postBuildLines)
	}
	c.finalKey(ch.parentKey)
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// hidden adds the seed's pre- or post-build steps.
func (ch *chain) hidden(phase Phase, lines []string) {
	for _, line := range lines {
		kw, arg, _ := strings.Cut(line, " ")
		switch lang.Kind(kw) {
		case lang.KindRun:
			ch.run(phase, line, lang.Range{}, arg, "", 0, false)
		case lang.KindUser:
			ch.user(phase, line, lang.Range{}, arg, false)
		case lang.KindWorkdir:
			ch.workdir(phase, line, lang.Range{}, arg, false)
		}
	}
}

func (ch *chain) defaultTimeout(phase Phase) time.Duration {
	if phase == PhaseRecipe {
		return ch.c.opts.recipeTimeout()
	}
	return ch.c.opts.phaseTimeout()
}

// add appends a step running in the chain's current state and advances
// the chain to it. The step's own fields decide its preimage's members
// from args on (Step.rest); extraID is a further parent (COPY --from,
// whose key the step holds as fromKey).
func (ch *chain) add(st *Step, extraID int) *Step {
	c := ch.c
	p := c.plan
	st.ID = len(p.Steps) + 1
	st.Stage = ch.stage
	st.User, st.Workdir = ch.st.user, ch.st.workdir
	st.state = ch.st.node
	if st.Timeout == 0 {
		st.Timeout = ch.defaultTimeout(st.Phase)
	}
	st.parentKey = ch.parentKey
	if ch.uw == nil || ch.uwUser != ch.st.user || ch.uwWorkdir != ch.st.workdir {
		ch.uwUser, ch.uwWorkdir = ch.st.user, ch.st.workdir
		ch.uw = appendUserWorkdir(ch.uw[:0], ch.uwUser, ch.uwWorkdir)
	}
	c.restBuf = st.appendRest(c.restBuf[:0], ch.uw)
	st.Key = ch.vars.key(c.restBuf)
	var ids [2]int
	parents := ids[:0]
	if ch.parentID > 0 {
		parents = append(parents, ch.parentID)
	}
	if extraID > 0 && !slices.Contains(parents, extraID) {
		parents = append(parents, extraID)
	}
	st.Parents = c.ints(parents)
	p.Steps = append(p.Steps, st)
	p.Stages[ch.stage].Steps = append(p.Stages[ch.stage].Steps, st.ID)
	ch.parentKey, ch.parentID = st.Key, st.ID
	return st
}

func (ch *chain) run(phase Phase, text string, r lang.Range, cmd, user string, timeout time.Duration, noCache bool) *Step {
	st := ch.c.newStep(phase, lang.KindRun, text, r, noCache)
	st.MakesLayer, st.Timeout, st.Cmd, st.runAs = true, timeout, cmd, user
	return ch.add(st, 0)
}

func (ch *chain) user(phase Phase, text string, r lang.Range, name string, noCache bool) *Step {
	st := ch.c.newStep(phase, lang.KindUser, text, r, noCache)
	st.MakesLayer, st.RunAsRoot, st.SetsUser = true, true, name
	st = ch.add(st, 0)
	ch.st.user = name
	home := "/home/" + name
	if name == "root" {
		home = "/root"
	}
	ch.setEnv("HOME", home)
	return st
}

// resolveDir resolves a WORKDIR against the current one (or /).
func resolveDir(cur, p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	if cur == "" {
		cur = "/"
	}
	return path.Join(cur, p)
}

// setEnv sets one variable for the steps after this one. Earlier steps
// keep their state node; the chain's map is its own.
func (ch *chain) setEnv(k, v string) { ch.setEnvNode(ch.st.node.with(opSetEnv, k, v)) }

// setEnvNode moves the chain to n, a child of its state node setting one
// variable.
func (ch *chain) setEnvNode(n *stateNode) {
	ch.st.env[n.key] = n.val
	ch.st.node = n
	ch.vars.setEnv(n.key, n.val)
}

func (ch *chain) workdir(phase Phase, text string, r lang.Range, p string, noCache bool) *Step {
	dir := resolveDir(ch.st.workdir, p)
	st := ch.c.newStep(phase, lang.KindWorkdir, text, r, noCache)
	st.MakesLayer, st.RunAsRoot, st.SetsWorkdir = true, true, dir
	st = ch.add(st, 0)
	ch.st.workdir = dir
	return st
}

// lower turns one recipe instruction into a step.
func (ch *chain) lower(in lang.Instruction) *Step {
	n := in.Node()
	text := canonicalText(ch.c.file, in)
	switch x := in.(type) {
	case *lang.RunInstr:
		return ch.run(PhaseRecipe, text, n.Range, x.Cmd.Text, x.User, x.Timeout, n.NoCache)
	case *lang.StartInstr:
		st := ch.c.newStep(PhaseRecipe, lang.KindStart, text, n.Range, n.NoCache)
		st.Timeout, st.Cmd = ch.c.opts.startTimeout(), x.Cmd.Text
		return ch.add(st, 0)
	case *lang.EnvInstr:
		val := Expand(x.Value.Value, ch.st.lookup)
		st := ch.c.newStep(PhaseRecipe, lang.KindEnv, text, n.Range, n.NoCache)
		st.sets = ch.st.node.with(opSetEnv, x.Key.Value, val)
		st = ch.add(st, 0)
		ch.setEnvNode(st.sets)
		return st
	case *lang.WorkdirInstr:
		return ch.workdir(PhaseRecipe, text, n.Range, x.Path.Value, n.NoCache)
	case *lang.UserInstr:
		return ch.user(PhaseRecipe, text, n.Range, x.Name.Value, n.NoCache)
	case *lang.ArgInstr:
		return ch.arg(x, text)
	case *lang.CopyInstr:
		return ch.copy(x, text)
	}
	return nil
}

func (ch *chain) arg(x *lang.ArgInstr, text string) *Step {
	name := x.Name.Value
	ch.c.usedArgs[name] = true
	val, set := ch.c.opts.BuildArgs[name]
	if !set && x.Default != nil {
		val, set = Expand(x.Default.Value, ch.st.lookup), true
	}
	st := ch.c.newStep(PhaseRecipe, lang.KindArg, text, x.Range, x.NoCache)
	if set {
		st.sets = ch.st.node.with(opSetArg, name, val)
	} else {
		st.sets = ch.st.node.with(opDelArg, name, val) // val is "": unset, no default
	}
	st = ch.add(st, 0)
	ch.st.node = st.sets
	if set {
		ch.st.args[name] = val
		ch.vars.setArg(name, val)
	} else {
		delete(ch.st.args, name)
		ch.vars.delArg(name)
	}
	return st
}

func (ch *chain) copy(x *lang.CopyInstr, text string) *Step {
	c := ch.c
	if ch.chownUser != ch.st.user || ch.chown == "" {
		ch.chownUser, ch.chown = ch.st.user, chownSpec("", ch.st.user)
	}
	chown := ch.chown
	if x.Chown != "" {
		chown = chownSpec(x.Chown, ch.st.user)
	}
	spec := &CopySpec{FromStage: -1, Staging: StagingDir, Chmod: x.Chmod, Chown: chown}
	dest := x.Dest.Value
	if !path.IsAbs(dest) {
		base := ch.st.workdir
		if base == "" {
			base = "/"
		}
		trail := strings.HasSuffix(dest, "/")
		dest = path.Join(base, dest)
		if trail && dest != "/" {
			dest += "/"
		}
	}
	spec.Dest = dest
	if x.Chmod != "" && !validChmod(x.Chmod) {
		r := n0(x.Flag("chmod"), x.Range)
		c.errorAt(r, CodeCopyChmodInvalid, fmt.Sprintf("--chmod=%s is not an octal mode", x.Chmod), "write three or four octal digits, e.g. --chmod=0755")
	}
	ok := make([]string, 0, len(x.Sources))
	for _, src := range x.Sources {
		if x.From != "" {
			// Paths in another stage's filesystem, absolute or not.
			ok = append(ok, path.Clean("/"+src.Value))
			continue
		}
		s, err := CleanSource(src.Value)
		if err != nil {
			c.diags = append(c.diags, lang.Diagnostic{Severity: lang.SeverityError, Code: CodeCopySourceInvalid, Message: err.Error(), Range: x.Range,
				Related: []lang.Related{{Message: "this source", Range: src.Range}}})
			continue
		}
		ok = append(ok, s)
	}
	spec.Sources = ok
	var fromKey digest.Digest
	fromID, inputs := 0, false
	if x.From != "" {
		fromRange := n0(x.Flag("from"), x.Range)
		b, found := c.stageIndex(x.From, stageSourceIndex(c, ch.stage))
		r := c.results[b]
		if !found || r == nil {
			c.errorAt(fromRange, CodeCopyFromUnknown, fmt.Sprintf("copy --from=%s: no earlier stage has that name", x.From), "")
		} else {
			spec.FromStage = r.planIdx
			spec.Staging = fmt.Sprintf("%s.stage-%d", StagingDir, r.planIdx)
			fromKey, fromID = r.finalKey, r.lastID
		}
	} else if c.opts.Context == nil {
		c.errorAt(x.Range, CodeCopyNoContext, "copy needs a build context, and none was given", "pass --context DIR or an archive")
	} else {
		ctx := c.opts.Context
		// Usually every source is there: one selection. Otherwise each
		// source is tried alone, to report each one that is not.
		sel, err := ctx.Select(ok)
		good := ok
		if err != nil {
			sel, good = nil, nil
		}
		for i, s := range ok {
			if sel != nil {
				break
			}
			if _, err := ctx.Select([]string{s}); err != nil {
				code := CodeCopySourceInvalid
				var se *SourceError
				if errors.As(err, &se) && se.Missing {
					code = CodeCopySourceMissing
				}
				// The COPY's range, as for every COPY problem; the source's
				// own range is related so editors can underline it.
				c.diags = append(c.diags, lang.Diagnostic{Severity: lang.SeverityError, Code: code, Message: err.Error(), Range: x.Range,
					Related: []lang.Related{{Message: "this source", Range: sourceRange(x, ok, i)}}})
				continue
			}
			good = append(good, s)
		}
		if len(good) > 0 {
			if sel == nil {
				sel, err = ctx.Select(good)
			}
			if err == nil {
				err = ctx.Hash(sel.Files)
				inputs = err == nil // the key's inputs
				spec.Selection = sel
			}
			if err != nil {
				c.errorAt(x.Range, CodeCopyContextRead, "copy: "+err.Error(), "")
			}
		}
	}
	st := c.newStep(PhaseRecipe, lang.KindCopy, text, x.Range, x.NoCache)
	st.MakesLayer, st.RunAsRoot, st.Copy = true, true, spec
	st.fromKey, st.inputs = fromKey, inputs
	return ch.add(st, fromID)
}

// sourceRange finds the range of the i-th cleaned source.
func sourceRange(x *lang.CopyInstr, cleaned []string, i int) lang.Range {
	k := 0
	for _, src := range x.Sources {
		if _, err := CleanSource(src.Value); err != nil {
			continue
		}
		if k == i {
			return src.Range
		}
		k++
	}
	return x.Range
}

// stageSourceIndex maps a plan stage index back to its source index.
func stageSourceIndex(c *compiler, planIdx int) int { return c.plan.Stages[planIdx].Index }

func n0(f *lang.Flag, fallback lang.Range) lang.Range {
	if f != nil {
		return f.Range
	}
	return fallback
}

// result records the template the target stage makes, in the state after
// its recipe phase.
func (c *compiler) result(ch *chain, hc *lang.HealthcheckInstr, starts []*Step) {
	res := &c.plan.Result
	res.DefaultUser = ch.st.user
	res.DefaultWorkdir = ch.st.workdir
	res.DefaultEnv = FilterRuntimeEnv(ch.st.env)
	c.resultEnv = ch.vars.env.appendJSON(nil, RuntimeEnvVars) // DefaultEnv encoded
	res.Start = []int{}
	for _, s := range starts {
		res.Start = append(res.Start, s.ID)
	}
	if len(starts) > 0 {
		res.StartScript = starts[len(starts)-1].Script()
	}
	res.Final = FinalFlatten
	if hc != nil {
		h := &Healthcheck{Cmd: hc.Cmd.Text, Interval: hc.Interval, Timeout: hc.Timeout, StartPeriod: hc.StartPeriod, Retries: hc.Retries, Range: hc.Range}
		if h.Interval <= 0 {
			h.Interval = 3 * time.Second
		}
		if h.Timeout <= 0 {
			h.Timeout = 10 * time.Second
		}
		h.Script = RunScript(res.DefaultUser, res.DefaultWorkdir, res.DefaultEnv, h.Cmd)
		res.Healthcheck = h
		res.Final = FinalSnapshot
	}
}

// finalKey identifies the whole outcome: the last step plus what the
// template keeps beyond its files.
func (c *compiler) finalKey(last digest.Digest) {
	res := &c.plan.Result
	args := []strPair{{"final", string(res.Final)}, {"start", res.StartScript}}
	if res.Healthcheck != nil {
		args = append(args, strPair{"healthcheck", res.Healthcheck.Cmd})
	}
	// Preimage{Kind: "RESULT", Env: res.DefaultEnv, …}.Encode(), with the
	// env encoded from the chain's sorted variables rather than sorted
	// again.
	b := appendStatePrefix(nil, PreimageVersion, c.resultEnv, []byte("{}"))
	res.Preimage = appendRest(b, &restFields{user: res.DefaultUser, workdir: res.DefaultWorkdir, kind: "RESULT",
		args: args, parents: []digest.Digest{last}})
	res.Key = digest.FromBytes(res.Preimage)
}

func (c *compiler) reportUnusedArgs() {
	var unused []string
	for k := range c.opts.BuildArgs {
		if !c.usedArgs[k] {
			unused = append(unused, k)
		}
	}
	sortStrings(unused)
	for _, k := range unused {
		c.diags = append(c.diags, lang.Diagnostic{Severity: lang.SeverityWarning, Code: CodeBuildArgUnused,
			Message: fmt.Sprintf("build arg %q is not declared by an ARG in the stages built", k), Range: c.fileStart()})
	}
}
