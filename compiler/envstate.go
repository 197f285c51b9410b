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
// ARG values stay the same: the sorted variables with their JSON
// encodings, the preimage's state prefix and the sha256 state after
// hashing it. It changes only at ENV, ARG and USER (HOME) and when a
// stage starts, and then by one variable, so a 1,000-step file with 200
// variables costs O(steps + changes × variables) bytes hashed and copied
// rather than a sort and an encoding of the whole env per step. Nothing
// here is kept by the plan: steps keep a *stateNode and their
// preimage's rest.
type envState struct {
	env, args varList
	valid     bool   // prefix and hstate match env and args
	prefix    []byte // scratch: the state prefix
	hstate    []byte // sha256 state after writing prefix (AppendBinary)

	h   hash.Hash // reused for every step's key
	sum []byte
}

// envVar is one variable with its encoding.
type envVar struct {
	key  string
	json string // "K":"v"
}

// varList is a set of variables sorted by name.
type varList []envVar

func newVar(k, v string) envVar {
	j := appendJSONString(make([]byte, 0, len(k)+len(v)+6), k)
	j = append(j, ':')
	j = appendJSONString(j, v)
	return envVar{key: k, json: string(j)}
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
	e.valid = false
}

func (e *envState) setEnv(k, v string) { e.env, e.valid = e.env.set(k, v), false }
func (e *envState) setArg(k, v string) { e.args, e.valid = e.args.set(k, v), false }
func (e *envState) delArg(k string)    { e.args, e.valid = e.args.del(k), false }

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
	st, err := e.h.(encoding.BinaryAppender).AppendBinary(e.hstate[:0])
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

// key returns the key of the preimage made of the state prefix and rest,
// resuming the hash of the prefix: the preimage itself is never
// assembled.
func (e *envState) key(rest []byte) digest.Digest {
	e.refresh()
	if err := e.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(e.hstate); err != nil {
		panic("compiler: sha256 state: " + err.Error())
	}
	e.h.Write(rest)
	e.sum = e.h.Sum(e.sum[:0])
	return sha256Digest(e.sum)
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
