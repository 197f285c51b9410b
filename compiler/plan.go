package compiler

import (
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/lang"
)

// Phase names the part of a build a step belongs to. The names are the
// seed's build-log phase names.
type Phase string

const (
	PhasePreBuild  Phase = "pre-build"
	PhaseRecipe    Phase = "recipe"
	PhasePostBuild Phase = "post-build"
)

// Final says how a build ends: a memory snapshot when a healthcheck is
// configured (template type "snapshot"), otherwise a flattened rootfs
// (template type "base"), as the seed does.
type Final string

const (
	FinalSnapshot Final = "snapshot"
	FinalFlatten  Final = "flatten"
)

// Plan is a compiled Wrennfile: every step the build runs, in execution
// order, with the state it runs in and its layer key, plus the template the
// build produces. Steps of independent stages do not depend on each other
// (see Step.Parents), so an executor may run them in parallel.
type Plan struct {
	File string
	// Stages are the stages the target needs, in source order; the target
	// is last.
	Stages []*Stage
	// Steps in execution order; Steps[i].ID == i+1.
	Steps []*Step
	// Result is the template the build produces.
	Result Result
	// Unresolved lists base templates whose identity was not known at
	// compile time (see Options.ResolveBase): keys that depend on them
	// change once the executor recompiles with the real identity.
	Unresolved []string
}

// Stage is one FROM stage of the plan.
type Stage struct {
	Index int    // index in the source file
	Name  string // AS name, "" when none
	// Base is the template name or, when BaseStage >= 0, the earlier
	// stage's name.
	Base      string
	BaseStage int // plan index into Plan.Stages of the stage this one starts from, -1 for a template
	// BaseKey is the key of the stage's starting point: the digest of the
	// base template identity, or the final key of BaseStage.
	BaseKey      digest.Digest
	BasePreimage []byte // nil when BaseStage >= 0
	// BaseEnv is the environment the stage starts from (template stages).
	BaseEnv map[string]string
	// Steps are the IDs of the stage's steps, in order.
	Steps []int
	// FinalKey is the key of the stage's last step (BaseKey when it has none).
	FinalKey digest.Digest
	Range    lang.Range
}

// Step is one unit of work with its layer key.
//
// What a step shares with the steps around it (its env, ARG values,
// script and key preimage, each of which carries the whole env) is not
// stored per step but produced by the methods Env, Args, Script and
// Preimage on demand: Compile computes only Key, so a plan costs
// memory in proportion to its steps, not to steps × variables.
type Step struct {
	ID    int
	Stage int // index into Plan.Stages
	Phase Phase
	Kind  lang.Kind
	// Text is the canonical instruction text, e.g. "RUN echo hi": keyword
	// upper case, flags sorted, continuation lines joined. Display only.
	Text string
	// Range is the instruction's source range; zero for the hidden pre- and
	// post-build steps.
	Range lang.Range
	// Key is the digest of the step's Preimage.
	Key digest.Digest
	// Parents are the IDs of the steps this one depends on: the previous
	// step of its chain (or the last step of the stage it starts from), and
	// for COPY --from the last step of the source stage.
	Parents []int
	// MakesLayer is false for steps that change no files (ENV, ARG, START):
	// they change later keys but there is nothing to commit.
	MakesLayer bool
	NoCache    bool

	// The state the step runs in, after the steps before it (with Env and
	// Args).
	User    string
	Workdir string // "" until a WORKDIR: the sandbox default
	Timeout time.Duration

	// Cmd is the command of RUN and START before wrapping.
	Cmd string
	// RunAsRoot is true for steps whose Script must run as root
	// (WORKDIR, USER, COPY): their scripts carry no su wrapping.
	RunAsRoot bool

	Copy *CopySpec // COPY only
	// SetsUser and SetsWorkdir are the new values for USER and WORKDIR steps.
	SetsUser    string
	SetsWorkdir string

	// What the preimage holds beyond the exported fields (see rest).
	state     *stateNode    // env and ARG values
	runAs     string        // RUN --user, "" for the state's user
	sets      *stateNode    // ENV, ARG: the state the step makes (its key and value)
	parentKey digest.Digest // the key the step builds on
	fromKey   digest.Digest // COPY --from: the source stage's final key
	inputs    bool          // COPY: Copy.Selection.Files were hashed and are key inputs
}

// Env is the full environment the step runs with, after ENV expansion.
// The map is shared with other steps in the same state: read it, never
// change it.
func (s *Step) Env() map[string]string {
	env, _ := s.state.maps()
	return env
}

// Args are the ARG values in scope (set ones only), shared as Env is.
func (s *Step) Args() map[string]string {
	_, args := s.state.maps()
	return args
}

// Preimage is the canonical encoding Key is the digest of (see
// DecodePreimage), for `cache explain` to diff two keys. It is built on
// each call.
func (s *Step) Preimage() []byte {
	prefix := s.state.preimagePrefix()
	b := make([]byte, 0, len(prefix)+256)
	return s.appendRest(append(b, prefix...), nil)
}

// appendRest appends the preimage's members after build_args, which the
// step's fields decide: Compile hashes these bytes for Key and Preimage
// writes them again, so the two cannot differ. userWorkdir, when not nil,
// is appendUserWorkdir(s.User, s.Workdir) already encoded.
func (s *Step) appendRest(b, userWorkdir []byte) []byte {
	var args [4]strPair
	n := 0
	set := func(k, v string) { args[n] = strPair{k, v}; n++ }
	r := restFields{user: s.User, workdir: s.Workdir, userWorkdir: userWorkdir, kind: string(s.Kind), ours: true}
	switch s.Kind {
	case lang.KindRun:
		set("cmd", s.Cmd)
		if s.runAs != "" {
			set("user", s.runAs)
		}
	case lang.KindStart:
		set("cmd", s.Cmd)
	case lang.KindUser:
		set("name", s.SetsUser)
	case lang.KindWorkdir:
		set("path", s.SetsWorkdir)
	case lang.KindEnv:
		set("key", s.sets.key)
		set("value", s.sets.val)
	case lang.KindArg:
		set("name", s.sets.key)
		set("value", s.sets.val)
		set("set", strconv.FormatBool(s.sets.op == opSetArg))
	case lang.KindCopy:
		c := s.Copy
		set("dest", c.Dest)
		set("chown", c.Chown)
		set("chmod", c.Chmod)
		if c.FromStage >= 0 {
			set("from", "stage")
		}
		r.sources = c.Sources
		if s.inputs {
			r.entries = c.Selection.Files
		}
	}
	r.args = args[:n]
	var keys [2]digest.Digest
	r.parents = append(keys[:0], s.parentKey)
	if s.fromKey != "" {
		r.parents = append(r.parents, s.fromKey)
	}
	return appendRest(b, &r)
}

// Script is the exact argument the executor passes to `/bin/sh -c`, ""
// for steps that run nothing (ENV, ARG). RUN and START scripts are the
// seed's wrapping (RunScript, StartScript) in the step's state, with ARG
// values under the env's; the others run as root. It is built on each
// call, from the variable part its state keeps once built.
func (s *Step) Script() string {
	switch s.Kind {
	case lang.KindRun:
		return s.wrap(cmp(s.runAs, s.User), "/bin/sh -c ", "")
	case lang.KindStart:
		return s.wrap(s.User, "nohup /bin/sh -c ", " >/dev/null 2>&1 &")
	case lang.KindWorkdir:
		return WorkdirScript(s.SetsWorkdir)
	case lang.KindUser:
		return UserScript(s.SetsUser)
	case lang.KindCopy:
		return s.Copy.Script()
	}
	return ""
}

// wrap is what RUN and START run: bodyHead, Cmd quoted, bodyTail after
// the state prefix `[cd 'WD' && ]K='v' … `, wrapped in su for a user other
// than root. Equal to runWithPrefix(user, statePrefix(…), …) and its START
// form (TestChainScriptMatchesRunScript), in one allocation. bodyHead and
// bodyTail hold no single quote.
func (s *Step) wrap(user, bodyHead, bodyTail string) string {
	root := user == "" || user == "root"
	vars := s.state.scriptVars(!root)
	wd, cmd := s.Workdir, s.Cmd
	level := 0 // how often wd and cmd are quoted: Q(s), or inside su -c '…'
	if !root {
		level = 1
	}
	n := len(vars) + len(bodyHead) + len(bodyTail) + len(wd) + len(cmd) + 16 + 12*(quotes(wd)+quotes(cmd))
	if !root {
		n += len(user) + 32 + 4*quotes(user)
	}
	var b strings.Builder
	b.Grow(n)
	if !root {
		b.WriteString("su ")
		writeQuoted(&b, user, 0)
		b.WriteString(" -s /bin/sh -c '")
	}
	if wd != "" {
		b.WriteString("cd ")
		writeQuoted(&b, wd, level)
		b.WriteString(" && ")
	}
	b.WriteString(vars)
	b.WriteString(bodyHead)
	writeQuoted(&b, cmd, level)
	b.WriteString(bodyTail)
	if !root {
		b.WriteByte('\'')
	}
	return b.String()
}

// writeQuoted writes Quote(s) (level 0), or Quote(s) as it is written
// inside another single-quoted string (level 1: each ' of Quote(s) as
// '\”).
func writeQuoted(b *strings.Builder, s string, level int) {
	open, esc := "'", `'\''`
	if level > 0 {
		open, esc = `'\''`, `'\''\'\'''\''` // ' -> '\'' -> each ' of that escaped
	}
	b.WriteString(open)
	for {
		i := strings.IndexByte(s, '\'')
		if i < 0 {
			b.WriteString(s)
			b.WriteString(open)
			return
		}
		b.WriteString(s[:i])
		b.WriteString(esc)
		s = s[i+1:]
	}
}

func quotes(s string) int { return strings.Count(s, "'") }

// Short returns the first 12 hex digits of the step key, for tables.
func (s *Step) Short() string { return ShortKey(s.Key) }

// ShortKey returns the first 12 hex digits of a key.
func ShortKey(k digest.Digest) string {
	h := k.Encoded()
	if len(h) > 12 {
		h = h[:12]
	}
	return h
}

// TotalSteps is the number of steps the build runs. For a single-stage
// file this is the seed's rule: recipe steps + 7, or + 0 with
// skip-pre-post.
func (p *Plan) TotalSteps() int { return len(p.Steps) }

// Step returns the step with the given ID, or nil.
func (p *Plan) Step(id int) *Step {
	if id < 1 || id > len(p.Steps) {
		return nil
	}
	return p.Steps[id-1]
}

// FinalKey is the key of the whole build's outcome: the last step's key
// combined with what the template keeps beyond its files (START commands,
// healthcheck, default user and env, final kind). Two builds with the same
// FinalKey produce the same template.
func (p *Plan) FinalKey() digest.Digest { return p.Result.Key }

// Result is what the build leaves behind besides files.
type Result struct {
	// DefaultUser and DefaultEnv are the state after the recipe phase of
	// the target stage, the env without the runtime variables (see
	// RuntimeEnvVars), as the seed records them.
	DefaultUser    string
	DefaultWorkdir string
	DefaultEnv     map[string]string
	// Start lists the target stage's START steps (IDs); the last one is
	// the template's start process.
	Start []int
	// StartScript is the last START's script, "" without START.
	StartScript string
	Healthcheck *Healthcheck
	Final       Final
	// Key and Preimage identify the outcome (see Plan.FinalKey).
	Key      digest.Digest
	Preimage []byte
}

// Healthcheck is the target stage's HEALTHCHECK with defaults applied.
type Healthcheck struct {
	Cmd         string
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int // 0: unlimited
	// Script runs Cmd as the default user in the default state, wrapped as
	// a RUN step would be.
	Script string
	Range  lang.Range
}

// RuntimeEnvVars are the variables the seed leaves out of a template's
// default env: they are per user or per sandbox and resolved at run time.
var RuntimeEnvVars = []string{"HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "HOSTNAME", "TERM", "SHLVL", "_", "WRENN_SANDBOX_ID", "WRENN_TEMPLATE_ID"}

// FilterRuntimeEnv returns env without RuntimeEnvVars.
func FilterRuntimeEnv(env map[string]string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
	}
	for _, k := range RuntimeEnvVars {
		delete(out, k)
	}
	return out
}
