package lint

import (
	"strings"

	"wrenn.dev/wrenn/lang"
)

// pass is one lint run over one file. newPass walks the instructions once
// and records, for every step, the state it runs in; rules then read that
// state instead of re-deriving it, which keeps linting linear.
type pass struct {
	file  *lang.File
	lines *lang.LineIndex
	cfg   *effective
	// prePost is true when the hidden pre- and post-build phases run
	// (no skip-pre-post): the recipe then starts as wrenn-user in
	// /home/wrenn-user, and post-build cleans the apt caches.
	prePost bool
	steps   []*step
	stages  []*stageInfo
	args    []*argInfo
	diags   lang.Diagnostics
	rule    *Rule
	sp      scriptParser
	apt     *[]aptCall // computed once, shared by the apt rules
	arena   []step
}

type stageInfo struct {
	stage *lang.Stage
	steps []*step
	// parent is the earlier stage named by FROM, whose end state this stage
	// starts from; nil for a stage built on a template.
	parent *stageInfo
	// global is true for the FROM-less stage 0 of a multi-stage file: its
	// ARGs are in scope in every later stage.
	global bool
	// end state, for stages that build on this one.
	user, workdir string
	userSetBy     *lang.UserInstr // the USER that set user, nil for the initial one
	vars          map[string]bool
	users         map[string]bool
	args          map[string]*argInfo
}

// step is one instruction with the state it runs in.
type step struct {
	instr lang.Instruction
	node  *lang.InstrNode
	stage *stageInfo
	// user is who the step runs as (RUN --user applied); workdir is the
	// current directory, "" when the agent's default (unknown).
	user      string
	userSetBy *lang.UserInstr // nil: the stage's starting user or RUN --user
	workdir   string
	// workdirSet is true when a WORKDIR (the pre-build's included) set
	// workdir.
	workdirSet bool
	// userKnown is false for RUN --user=U when no USER created U.
	userKnown bool
	// script is the parsed body of RUN, START and HEALTHCHECK.
	script *script
	// refs are the variable references of the words the compiler expands.
	refs []resolvedRef
}

type resolvedRef struct {
	varRef
	word    *lang.Word
	defined bool
	// suggestion is "did you mean …" for a defined name close to an
	// undefined one.
	suggestion string
}

type argInfo struct {
	instr *lang.ArgInstr
	used  bool
}

const (
	preBuildUser    = "wrenn-user"
	preBuildWorkdir = "/home/wrenn-user"
)

func newPass(f *lang.File, li *lang.LineIndex, cfg *effective) *pass {
	p := &pass{file: f, lines: li, cfg: cfg, prePost: !cfg.skipPrePost}
	var global *stageInfo
	byName := map[string]*stageInfo{}
	for i, st := range f.Stages {
		si := &stageInfo{stage: st, global: i == 0 && st.From == nil && len(f.Stages) > 1}
		if st.From != nil && st.Base != "" {
			if parent := byName[st.Base]; parent != nil {
				si.parent = parent
			}
		}
		p.initStage(si, global)
		p.walkStage(si)
		if si.global {
			global = si
		}
		if st.Name != "" && byName[st.Name] == nil {
			byName[st.Name] = si
		}
		p.stages = append(p.stages, si)
	}
	return p
}

func (p *pass) initStage(si *stageInfo, global *stageInfo) {
	si.vars, si.users, si.args = map[string]bool{}, map[string]bool{"root": true}, map[string]*argInfo{}
	if par := si.parent; par != nil {
		si.user, si.workdir, si.userSetBy = par.user, par.workdir, par.userSetBy
		copyMap(si.vars, par.vars)
		copyMap(si.users, par.users)
		copyMap(si.args, par.args)
		return
	}
	si.user = "root"
	if p.prePost {
		si.user, si.workdir = preBuildUser, preBuildWorkdir
		si.users[preBuildUser] = true
	}
	if global != nil {
		copyMap(si.vars, global.vars)
		copyMap(si.args, global.args)
	}
}

func copyMap[V any](dst, src map[string]V) {
	for k, v := range src {
		dst[k] = v
	}
}

func (p *pass) walkStage(si *stageInfo) {
	workdirSet := si.workdir != ""
	for _, in := range stageInstructions(si.stage) {
		if len(p.arena) == 0 {
			p.arena = make([]step, 64) // steps are allocated in blocks
		}
		st := &p.arena[0]
		p.arena = p.arena[1:]
		*st = step{instr: in, node: in.Node(), stage: si, user: si.user, userSetBy: si.userSetBy, workdir: si.workdir, workdirSet: workdirSet, userKnown: true}
		switch x := in.(type) {
		case *lang.FromInstr:
			p.resolve(si, st, &x.Base)
		case *lang.ArgInstr:
			if x.Default != nil {
				p.resolve(si, st, x.Default)
			}
			si.vars[x.Name.Value] = true
			ai := &argInfo{instr: x}
			si.args[x.Name.Value] = ai
			p.args = append(p.args, ai)
		case *lang.EnvInstr:
			p.resolve(si, st, &x.Value)
			si.vars[x.Key.Value] = true
		case *lang.WorkdirInstr:
			p.resolve(si, st, &x.Path)
			// The seed keeps the path as written: a relative one is used
			// from the sandbox's starting directory, not joined to the
			// previous WORKDIR (workdir-relative reports it).
			si.workdir = x.Path.Value
			workdirSet = true
		case *lang.UserInstr:
			p.resolve(si, st, &x.Name)
			si.user = x.Name.Value
			si.users[x.Name.Value] = true
			si.userSetBy = x
		case *lang.CopyInstr:
			for i := range x.Sources {
				p.resolve(si, st, &x.Sources[i])
			}
			p.resolve(si, st, &x.Dest)
		case *lang.RunInstr:
			if x.User != "" {
				st.user, st.userSetBy = x.User, nil
				st.userKnown = si.users[x.User]
			}
			st.script = p.parseScript(si, &x.Cmd)
		case *lang.StartInstr:
			st.script = p.parseScript(si, &x.Cmd)
		case *lang.HealthcheckInstr:
			st.script = p.parseScript(si, &x.Cmd)
		}
		si.steps = append(si.steps, st)
		p.steps = append(p.steps, st)
	}
}

// resolve records the variable references of w, marking ARGs as used.
func (p *pass) resolve(si *stageInfo, st *step, w *lang.Word) {
	if strings.IndexByte(w.Value, '$') < 0 {
		return
	}
	for _, r := range scanVars(w.Value, nil) {
		if ai := si.args[r.name]; ai != nil {
			ai.used = true
		}
		ref := resolvedRef{varRef: r, word: w, defined: si.vars[r.name] || wellKnownVars[r.name]}
		if !ref.defined {
			ref.suggestion = lang.DidYouMean(r.name, knownVars(si))
		}
		st.refs = append(st.refs, ref)
	}
}

func (p *pass) parseScript(si *stageInfo, sh *lang.Shell) *script {
	s := p.sp.parse(sh)
	if s.file == nil {
		// Not parsed (no rule needs it, or not valid shell): count ARG
		// uses in the text.
		shellUses(sh.Text, func(name string) {
			if ai := si.args[name]; ai != nil {
				ai.used = true
			}
		})
	}
	for _, pr := range s.params {
		if ai := si.args[pr.name]; ai != nil {
			ai.used = true
		}
	}
	return s
}

// report adds a diagnostic of the running rule.
func (p *pass) report(r lang.Range, msg, detail string, related ...lang.Related) {
	p.diags = append(p.diags, lang.Diagnostic{
		Severity: p.cfg.severity(p.rule),
		Code:     p.rule.Code,
		Message:  msg,
		Detail:   detail,
		Range:    r,
		Related:  related,
	})
}

// wordRange is the range of w.Value[off:end]; the whole word when its value
// is not verbatim source (joined continuation lines).
func (p *pass) wordRange(w *lang.Word, off, end int) lang.Range {
	s, e := w.Range.Start.Offset, w.Range.End.Offset
	if e-s == len(w.Value) && e <= len(p.file.Source) && string(p.file.Source[s:e]) == w.Value {
		return p.lines.Range(s+off, s+end)
	}
	return w.Range
}

// shellRange is the source range of sh.Text[start:end].
func (p *pass) shellRange(s *script, start, end uint) lang.Range {
	a := s.sh.SourceOffset(int(start))
	b := a
	if end > start {
		b = s.sh.SourceOffset(int(end)-1) + 1
	}
	return p.lines.Range(a, b)
}

// argRange is the range of the i-th word of c.
func (p *pass) argRange(s *script, c *call, i int) lang.Range {
	w := c.expr.Args[i]
	return p.shellRange(s, w.Pos().Offset(), w.End().Offset())
}

// callRange covers c from its first to its last word.
func (p *pass) callRange(s *script, c *call) lang.Range {
	return p.shellRange(s, c.expr.Pos().Offset(), c.expr.End().Offset())
}

// finalStage is the stage the template is made from (the last one).
func (p *pass) finalStage() *stageInfo {
	if len(p.stages) == 0 {
		return nil
	}
	return p.stages[len(p.stages)-1]
}

// stageInstructions is the stage's instructions with its FROM first,
// whether or not the parser lists the FROM among Instructions.
func stageInstructions(st *lang.Stage) []lang.Instruction {
	if st.From == nil || len(st.Instructions) > 0 && st.Instructions[0] == lang.Instruction(st.From) {
		return st.Instructions
	}
	return append([]lang.Instruction{st.From}, st.Instructions...)
}

// lastFlag is the last flag named name: the one whose value the parser
// keeps when a flag is repeated (it reports the repeat).
func lastFlag(n *lang.InstrNode, name string) *lang.Flag {
	for i := len(n.Flags) - 1; i >= 0; i-- {
		if n.Flags[i].Name == name {
			return n.Flags[i]
		}
	}
	return nil
}

// flagValueRange is the range of the value of the last flag named name,
// falling back to the flag and then to the instruction.
func flagValueRange(n *lang.InstrNode, name string) lang.Range {
	f := lastFlag(n, name)
	switch {
	case f == nil:
		return n.Range
	case f.HasValue:
		return f.ValueRange
	}
	return f.Range
}
