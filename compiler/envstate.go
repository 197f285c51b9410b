package compiler

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"hash"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
)

// envState is what successive steps of a chain share while the env and the
// ARG values stay the same: the sorted variables with their encodings, the
// preimage's state prefix and the sha256 state after hashing it, and the
// variable part of the scripts. It changes only at ENV, ARG and USER (and
// when a stage starts), and then by one variable, so a 1,000-step file
// with 200 variables costs O(steps + changes × variables) memory copies
// rather than a sort and an encoding of the whole env per step.
type envState struct {
	env, args varList
	valid     bool // the derived fields below match env and args
	prefix    []byte
	hstate    []byte // sha256 state after writing prefix (MarshalBinary)
	// script is `K='v' ` for every variable (ARGs overridden by ENV),
	// sorted; scriptEsc the same with each ' written as '\'' (inside su -c
	// '…'). Each is built on first use and then spliced at each ENV.
	script, scriptEsc     string
	scriptValid, escValid bool
	scriptUsed, escUsed   bool // since the last ENV

	h   hash.Hash // reused for every step's key
	buf []byte    // scratch for a step's preimage suffix
	sum []byte
}

// envVar is one variable with its encodings.
type envVar struct {
	key       string
	json      string // "K":"v"
	script    string // K='v' followed by a space
	scriptEsc string // script escaped for a single-quoted string
}

// varList is a set of variables sorted by name.
type varList []envVar

func newVar(k, v string) envVar {
	j := appendJSONString(make([]byte, 0, len(k)+len(v)+6), k)
	j = append(j, ':')
	j = appendJSONString(j, v)
	sc := k + "=" + Quote(v) + " "
	return envVar{key: k, json: string(j), script: sc, scriptEsc: escapeQuotes(sc)}
}

func listOf(m map[string]string) varList {
	keys := slices.Sorted(maps.Keys(m))
	l := make(varList, len(keys))
	for i, k := range keys {
		l[i] = newVar(k, m[k])
	}
	return l
}

func (l varList) find(k string) (int, bool) {
	return slices.BinarySearchFunc(l, k, func(e envVar, k string) int { return strings.Compare(e.key, k) })
}

func (l varList) set(k, v string) varList {
	i, found := l.find(k)
	if found {
		l[i] = newVar(k, v)
		return l
	}
	return slices.Insert(l, i, newVar(k, v))
}

func (l varList) del(k string) varList {
	if i, found := l.find(k); found {
		return slices.Delete(l, i, i+1)
	}
	return l
}

// appendJSON appends the list as a JSON object (appendStringMap's bytes).
func (l varList) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, v := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, v.json...)
	}
	return append(b, '}')
}

// reset rebuilds the lists from the state's maps (at a stage start).
func (e *envState) reset(env, args map[string]string) {
	e.env, e.args = listOf(env), listOf(args)
	e.valid, e.scriptValid, e.escValid = false, false, false
}

// setEnv sets one variable. Without ARGs the built scripts are spliced
// rather than rebuilt from every variable.
func (e *envState) setEnv(k, v string) {
	i, found := e.env.find(k)
	nv := newVar(k, v)
	// A form not used since the last change is dropped, not spliced: it
	// may never be needed again (a root script after USER, say).
	e.scriptValid = e.scriptValid && e.scriptUsed && len(e.args) == 0
	e.escValid = e.escValid && e.escUsed && len(e.args) == 0
	e.scriptUsed, e.escUsed = false, false
	if e.scriptValid {
		e.script = e.spliceVar(e.script, i, found, func(v *envVar) string { return v.script }, &nv)
	}
	if e.escValid {
		e.scriptEsc = e.spliceVar(e.scriptEsc, i, found, func(v *envVar) string { return v.scriptEsc }, &nv)
	}
	if found {
		e.env[i] = nv
	} else {
		e.env = slices.Insert(e.env, i, nv)
	}
	e.valid = false
}

func (e *envState) setArg(k, v string) {
	e.args, e.valid, e.scriptValid, e.escValid = e.args.set(k, v), false, false, false
}

func (e *envState) delArg(k string) {
	e.args, e.valid, e.scriptValid, e.escValid = e.args.del(k), false, false, false
}

func (e *envState) refresh() {
	if e.valid {
		return
	}
	e.valid = true
	e.prefix = e.appendPrefix(e.prefix[:0])
	if e.h == nil {
		e.h = sha256.New()
	}
	e.h.Reset()
	e.h.Write(e.prefix)
	st, err := e.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic("compiler: sha256 state: " + err.Error())
	}
	e.hstate = st
}

// appendPrefix is appendStatePrefix of the lists, written in place.
func (e *envState) appendPrefix(b []byte) []byte {
	n := 64
	for _, v := range e.env {
		n += len(v.json) + 1
	}
	for _, v := range e.args {
		n += len(v.json) + 1
	}
	b = slices.Grow(b, n)
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, PreimageVersion, 10)
	b = append(b, `,"env":`...)
	b = e.env.appendJSON(b)
	b = append(b, `,"build_args":`...)
	return e.args.appendJSON(b)
}

// vars returns the script's variables, `K='v' ` for each, or the same
// escaped for a single-quoted string: ARG values, overridden by ENV of
// the same name, in name order.
func (e *envState) vars(escaped bool) string {
	if escaped {
		if !e.escValid {
			e.scriptEsc = e.merge(func(v *envVar) string { return v.scriptEsc })
			e.escValid = true
		}
		e.escUsed = true
		return e.scriptEsc
	}
	if !e.scriptValid {
		e.script = e.merge(func(v *envVar) string { return v.script })
		e.scriptValid = true
	}
	e.scriptUsed = true
	return e.script
}

// spliceVar updates a built variable string s (script or scriptEsc) for
// env[i] becoming nv: everything before env[i] is kept, env[i]'s part (none
// when the variable is new) is replaced. Only valid without ARGs, when s is
// the env's parts in order.
func (e *envState) spliceVar(s string, i int, found bool, part func(*envVar) string, nv *envVar) string {
	off := 0
	for j := 0; j < i; j++ {
		off += len(part(&e.env[j]))
	}
	end := off
	if found {
		end += len(part(&e.env[i]))
	}
	return s[:off] + part(nv) + s[end:]
}

func (e *envState) merge(part func(*envVar) string) string {
	var merged []*envVar
	if len(e.args) == 0 {
		merged = make([]*envVar, len(e.env))
		for i := range e.env {
			merged[i] = &e.env[i]
		}
	} else {
		i, j := 0, 0
		for i < len(e.env) || j < len(e.args) {
			switch {
			case j == len(e.args) || (i < len(e.env) && e.env[i].key < e.args[j].key):
				merged = append(merged, &e.env[i])
				i++
			case i == len(e.env) || e.args[j].key < e.env[i].key:
				merged = append(merged, &e.args[j])
				j++
			default: // same name: ENV wins
				merged = append(merged, &e.env[i])
				i++
				j++
			}
		}
	}
	n := 0
	for _, v := range merged {
		n += len(part(v))
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, v := range merged {
		sb.WriteString(part(v))
	}
	return sb.String()
}

// key encodes pre after the state prefix and returns the full preimage
// and its key, resuming the hash of the prefix.
func (e *envState) key(pre *Preimage) ([]byte, digest.Digest) {
	e.refresh()
	e.buf = pre.appendRest(e.buf[:0])
	full := make([]byte, 0, len(e.prefix)+len(e.buf))
	full = append(append(full, e.prefix...), e.buf...)
	if err := e.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(e.hstate); err != nil {
		panic("compiler: sha256 state: " + err.Error())
	}
	e.h.Write(e.buf)
	e.sum = e.h.Sum(e.sum[:0])
	return full, sha256Digest(e.sum)
}

// escapeQuotes writes each ' as '\” so s can go inside '…'.
func escapeQuotes(s string) string { return strings.ReplaceAll(s, "'", `'\''`) }

// sha256Digest formats a sha256 sum as a digest without fmt (what
// digest.NewDigestFromBytes does through Sprintf).
func sha256Digest(sum []byte) digest.Digest {
	var b [7 + 2*sha256.Size]byte
	copy(b[:], "sha256:")
	hex.Encode(b[7:], sum)
	return digest.Digest(b[:])
}
