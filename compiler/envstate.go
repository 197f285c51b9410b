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
	valid     bool   // hstate matches env and args
	buf       []byte // scratch: the part of the prefix being hashed
	hstate    []byte // sha256 state after the whole prefix (AppendBinary)
	// cps[j] is the sha256 state after the prefix's head and the first
	// (j+1)*cpVars variables; cps[:cpValid] match env. A change to the
	// variable at index i keeps the checkpoints before it, so an ENV
	// rehashes the env from the nearest checkpoint before its variable,
	// not from the start.
	cps     [][]byte
	cpValid int

	h   hash.Hash // reused for every step's key
	sum []byte
}

// cpVars is how many variables lie between two checkpoints: about 500
// bytes of typical variables, so a checkpoint (a ~110-byte state) costs
// little next to the hashing it saves.
const cpVars = 16

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

// appendJSON appends the list without the names in skip as a JSON object
// (appendStringMap's bytes).
func (l varList) appendJSON(b []byte, skip []string) []byte {
	b = append(b, '{')
	first := true
	for _, v := range l {
		if len(skip) > 0 && slices.Contains(skip, v.key) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, v.json...)
	}
	return append(b, '}')
}

// reset rebuilds the lists from the state's maps (at a stage start).
func (e *envState) reset(env, args map[string]string) {
	e.env, e.args = listOf(env), listOf(args)
	e.valid, e.cpValid = false, 0
}

func (e *envState) setEnv(k, v string) {
	i, found := e.env.find(k)
	if found {
		e.env[i] = newVar(k, v)
	} else {
		e.env = slices.Insert(e.env, i, newVar(k, v))
	}
	e.valid, e.cpValid = false, min(e.cpValid, i/cpVars)
}

func (e *envState) setArg(k, v string) { e.args, e.valid = e.args.set(k, v), false }
func (e *envState) delArg(k string)    { e.args, e.valid = e.args.del(k), false }

// refresh hashes the state prefix, `{"version":V,"env":{…},"build_args":{…}`
// (appendStatePrefix's bytes), from the last valid checkpoint on.
func (e *envState) refresh() {
	if e.valid {
		return
	}
	e.valid = true
	if e.h == nil {
		e.h = sha256.New()
	}
	b := e.buf[:0]
	start := e.cpValid * cpVars
	if e.cpValid == 0 {
		e.h.Reset()
		b = append(b, `{"version":`...)
		b = strconv.AppendInt(b, PreimageVersion, 10)
		b = append(b, `,"env":{`...)
	} else {
		e.unmarshal(e.cps[e.cpValid-1])
	}
	for i := start; i < len(e.env); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.env[i].json...)
		if (i+1)%cpVars == 0 {
			e.h.Write(b)
			b = b[:0]
			j := (i+1)/cpVars - 1
			if j == len(e.cps) {
				e.cps = append(e.cps, nil)
			}
			e.cps[j] = e.marshal(e.cps[j][:0])
			e.cpValid = j + 1
		}
	}
	b = append(b, `},"build_args":`...)
	b = e.args.appendJSON(b, nil)
	e.h.Write(b)
	e.buf = b
	e.hstate = e.marshal(e.hstate[:0])
}

func (e *envState) marshal(b []byte) []byte {
	st, err := e.h.(encoding.BinaryAppender).AppendBinary(b)
	if err != nil {
		panic("compiler: sha256 state: " + err.Error())
	}
	return st
}

func (e *envState) unmarshal(st []byte) {
	if err := e.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st); err != nil {
		panic("compiler: sha256 state: " + err.Error())
	}
}

// key returns the key of the preimage made of the state prefix and rest,
// resuming the hash of the prefix: the preimage itself is never
// assembled.
func (e *envState) key(rest []byte) digest.Digest {
	e.refresh()
	e.unmarshal(e.hstate)
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
