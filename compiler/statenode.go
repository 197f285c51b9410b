package compiler

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// stateNode is one env and ARG state of a plan, kept as a persistent
// list: a node is its parent plus one change (an ENV, an ARG, the ARGs
// dropped at a stage start), so steps share their state at no cost and a
// 1,000-step plan with 200 variables holds 200 small nodes rather than 200
// copies of the env. What steps ask of their state (Step.Env, Step.Args,
// Step.Script, Step.Preimage) is materialised only then, once per node,
// and shared by every step in that state: the maps, and the variables
// sorted with their encodings, from which the preimage prefix and the
// scripts' variable part are joined. A node's sorted variables are its
// parent's with one changed, so materialising a chain of nodes sorts and
// encodes each variable once, not once per node.
type stateNode struct {
	parent *stateNode
	op     stateOp
	key    string
	val    string
	mu     *sync.Mutex // one per plan: guards the lazily built fields below

	built     bool
	env, args map[string]string

	listed           bool
	envVars, argVars []matVar // sorted by name

	prefix     []byte // appendStatePrefix of env and args, built on first use
	prefixDone bool
	// vars[0] is the scripts' variables, `K='v' ` for each ARG and ENV
	// (ENV wins), sorted; vars[1] the same escaped for inside '…' (su -c).
	vars     [2]string
	varsDone [2]bool
}

// matVar is one variable with what a materialised state writes of it.
type matVar struct {
	key       string
	json      string // "K":"v"
	script    string // K='v' followed by a space
	scriptEsc string // script escaped for a single-quoted string
}

func newMatVar(k, v string) matVar {
	j := appendJSONString(make([]byte, 0, len(k)+len(v)+6), k)
	j = append(j, ':')
	j = appendJSONString(j, v)
	sc := k + "=" + Quote(v) + " "
	return matVar{key: k, json: string(j), script: sc, scriptEsc: escapeQuotes(sc)}
}

func matVarsOf(m map[string]string) []matVar {
	keys := slices.Sorted(maps.Keys(m))
	l := make([]matVar, len(keys))
	for i, k := range keys {
		l[i] = newMatVar(k, m[k])
	}
	return l
}

// withVar returns l with k set to v (a copy: l is shared).
func withVar(l []matVar, k, v string) []matVar {
	i, found := slices.BinarySearchFunc(l, k, func(e matVar, k string) int { return strings.Compare(e.key, k) })
	out := make([]matVar, 0, len(l)+1)
	out = append(out, l[:i]...)
	out = append(out, newMatVar(k, v))
	if found {
		i++
	}
	return append(out, l[i:]...)
}

// withoutVar returns l without k (a copy when k is in l).
func withoutVar(l []matVar, k string) []matVar {
	i, found := slices.BinarySearchFunc(l, k, func(e matVar, k string) int { return strings.Compare(e.key, k) })
	if !found {
		return l
	}
	return append(l[:i:i], l[i+1:]...)
}

type stateOp uint8

const (
	opRoot      stateOp = iota // env and args given
	opSetEnv                   // env[key] = val
	opSetArg                   // args[key] = val
	opDelArg                   // delete(args, key)
	opClearArgs                // args = {} (a stage starting from another)
)

// newRootState is a state with the given maps, which it keeps (callers
// must not change them afterwards).
func newRootState(mu *sync.Mutex, env, args map[string]string) *stateNode {
	if env == nil {
		env = map[string]string{}
	}
	if args == nil {
		args = map[string]string{}
	}
	return &stateNode{op: opRoot, mu: mu, built: true, env: env, args: args}
}

// with returns the state after one change.
func (n *stateNode) with(op stateOp, k, v string) *stateNode {
	return &stateNode{parent: n, op: op, key: k, val: v, mu: n.mu}
}

// maps returns the state's env and ARG values. They are shared: read
// them, never change them.
func (n *stateNode) maps() (env, args map[string]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.build()
	return n.env, n.args
}

// build materialises n's maps and those of the ancestors it needs, oldest
// first, without recursion (a long file has long chains). Callers hold
// mu.
func (n *stateNode) build() {
	if n.built {
		return
	}
	var path []*stateNode
	for x := n; !x.built; x = x.parent {
		path = append(path, x)
	}
	for i := len(path) - 1; i >= 0; i-- {
		x := path[i]
		env, args := x.parent.env, x.parent.args
		switch x.op {
		case opSetEnv:
			env = maps.Clone(env)
			env[x.key] = x.val
		case opSetArg:
			args = maps.Clone(args)
			args[x.key] = x.val
		case opDelArg:
			if _, ok := args[x.key]; ok {
				args = maps.Clone(args)
				delete(args, x.key)
			}
		case opClearArgs:
			args = map[string]string{}
		}
		x.env, x.args, x.built = env, args, true
	}
}

// list materialises n's sorted variables and those of the ancestors it
// needs, oldest first, each from its parent's with one variable changed.
// Callers hold mu.
func (n *stateNode) list() {
	if n.listed {
		return
	}
	var path []*stateNode
	x := n
	for ; !x.listed && x.op != opRoot; x = x.parent {
		path = append(path, x)
	}
	if !x.listed { // the root: from its maps
		x.envVars, x.argVars, x.listed = matVarsOf(x.env), matVarsOf(x.args), true
	}
	for i := len(path) - 1; i >= 0; i-- {
		x := path[i]
		env, args := x.parent.envVars, x.parent.argVars
		switch x.op {
		case opSetEnv:
			env = withVar(env, x.key, x.val)
		case opSetArg:
			args = withVar(args, x.key, x.val)
		case opDelArg:
			args = withoutVar(args, x.key)
		case opClearArgs:
			args = nil
		}
		x.envVars, x.argVars, x.listed = env, args, true
	}
}

// preimagePrefix is the state's part of every preimage in it (see
// appendStatePrefix), encoded once per node.
func (n *stateNode) preimagePrefix() []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.prefixDone {
		n.list()
		size := 48
		for _, l := range [][]matVar{n.envVars, n.argVars} {
			for _, v := range l {
				size += len(v.json) + 1
			}
		}
		b := make([]byte, 0, size)
		b = append(b, `{"version":`...)
		b = strconv.AppendInt(b, PreimageVersion, 10)
		b = append(b, `,"env":`...)
		b = appendMatJSON(b, n.envVars)
		b = append(b, `,"build_args":`...)
		n.prefix, n.prefixDone = appendMatJSON(b, n.argVars), true
	}
	return n.prefix
}

func appendMatJSON(b []byte, l []matVar) []byte {
	b = append(b, '{')
	for i, v := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, v.json...)
	}
	return append(b, '}')
}

// scriptVars returns the variable part of the state's RUN and START
// scripts (statePrefix of the ARGs overridden by the env, without the
// directory change), escaped for a single-quoted string when quoted,
// built once per node.
func (n *stateNode) scriptVars(quoted bool) string {
	i := 0
	if quoted {
		i = 1
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.varsDone[i] {
		return n.vars[i]
	}
	n.list()
	part := func(v *matVar) string { return v.script }
	if quoted {
		part = func(v *matVar) string { return v.scriptEsc }
	}
	// Merge the two sorted lists; a name in both is the env's.
	env, args := n.envVars, n.argVars
	size := 0
	for j := range env {
		size += len(part(&env[j]))
	}
	for j := range args {
		size += len(part(&args[j]))
	}
	var b strings.Builder
	b.Grow(size)
	e, a := 0, 0
	for e < len(env) || a < len(args) {
		switch {
		case a == len(args) || (e < len(env) && env[e].key < args[a].key):
			b.WriteString(part(&env[e]))
			e++
		case e == len(env) || args[a].key < env[e].key:
			b.WriteString(part(&args[a]))
			a++
		default: // same name: ENV wins
			b.WriteString(part(&env[e]))
			e++
			a++
		}
	}
	n.vars[i], n.varsDone[i] = b.String(), true
	return n.vars[i]
}
