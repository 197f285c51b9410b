package compiler

import (
	"maps"
	"sync"
)

// stateNode is one env and ARG state of a plan, kept as a persistent
// list: a node is its parent plus one change (an ENV, an ARG, the ARGs
// dropped at a stage start), so steps share their state at no cost and a
// 1,000-step plan with 200 variables holds 200 small nodes rather than 200
// copies of the env. The maps (and the encoded preimage prefix) are
// materialised only when someone asks (Step.Env, Step.Args, Step.Script,
// Step.Preimage), once per node, and shared by every step in that state.
type stateNode struct {
	parent *stateNode
	op     stateOp
	key    string
	val    string
	mu     *sync.Mutex // one per plan: guards the lazily built fields below

	built      bool
	env, args  map[string]string
	prefix     []byte // appendStatePrefix of env and args, built on first use
	prefixDone bool
	// vars[0] is the scripts' variables, `K='v' ` for each ARG and ENV
	// (ENV wins), sorted; vars[1] the same escaped for inside '…' (su -c).
	vars     [2]string
	varsDone [2]bool
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

// build materialises n and the ancestors it needs, oldest first, without
// recursion (a long file has long chains). Callers hold mu.
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

// preimagePrefix is the state's part of every preimage in it (see
// appendStatePrefix), encoded once per node.
func (n *stateNode) preimagePrefix() []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.prefixDone {
		n.build()
		n.prefix = appendStatePrefix(nil, PreimageVersion, appendStringMap(nil, n.env), appendStringMap(nil, n.args))
		n.prefixDone = true
	}
	return n.prefix
}

// scriptVars returns the variable part of the state's RUN and START
// scripts (see statePrefix), escaped for a single-quoted string when
// quoted, built once per node.
func (n *stateNode) scriptVars(quoted bool) string {
	i := 0
	if quoted {
		i = 1
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.varsDone[i] {
		n.build()
		vars := n.env
		if len(n.args) > 0 {
			vars = make(map[string]string, len(n.env)+len(n.args))
			maps.Copy(vars, n.args)
			maps.Copy(vars, n.env)
		}
		v := statePrefix("", vars)
		if quoted {
			v = escapeQuotes(v)
		}
		n.vars[i], n.varsDone[i] = v, true
	}
	return n.vars[i]
}
