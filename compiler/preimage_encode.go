package compiler

import (
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/opencontainers/go-digest"
)

// The canonical encoding is written by hand rather than through
// encoding/json's reflection: it is the hot path of Compile (every step
// encodes the full env). TestPreimageCanonical and FuzzJSONString check
// that the bytes are exactly what encoding/json produces for the same
// value with SetEscapeHTML(false), with every object's members sorted.

// appendJSONString appends s as a JSON string, escaped as encoding/json
// does without HTML escaping.
func appendJSONString(b []byte, s string) []byte {
	if jsonPlain(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonPlain reports whether s is printable ASCII without '"' or '\\', so
// it is its own JSON string body. Eight bytes at a time: keys are mostly
// digests, paths and names, and this was a third of encoding a preimage.
func jsonPlain(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		q := x ^ ('"' * ones)
		bs := x ^ ('\\' * ones)
		// Any byte >= 0x80, < 0x20, == '"' or == '\\' (the "has zero
		// byte" test on x^c; the "has byte less than n" test for 0x20,
		// exact once high bytes are ruled out).
		if x&highs != 0 || (x-0x20*ones)&^x&highs != 0 || (q-ones)&^q&highs != 0 || (bs-ones)&^bs&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// appendStringMap appends a JSON object with sorted keys.
func appendStringMap(b []byte, m map[string]string) []byte {
	var small [8]string // a step's args: no allocation, insertion sort
	keys := small[:0]
	if len(m) > len(small) {
		keys = make([]string, 0, len(m))
	}
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) <= len(small) {
		for i := 1; i < len(keys); i++ {
			for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
				keys[j], keys[j-1] = keys[j-1], keys[j]
			}
		}
	} else {
		sort.Strings(keys)
	}
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

// appendStatePrefix appends the part of a preimage that only the env
// state decides: `{"version":V,"env":ENV,"build_args":ARGS`, with env and
// buildArgs already encoded by appendStringMap. Compile hashes it once per
// state and resumes the hash for each step (see envState).
func appendStatePrefix(b []byte, version int, env, buildArgs []byte) []byte {
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, int64(version), 10)
	b = append(b, `,"env":`...)
	b = append(b, env...)
	b = append(b, `,"build_args":`...)
	b = append(b, buildArgs...)
	return b
}

// appendRest appends the members after the state prefix and closes the
// object.
func (p *Preimage) appendRest(b []byte) []byte {
	var small [8]strPair
	args := small[:0]
	if len(p.Args) > len(small) {
		args = make([]strPair, 0, len(p.Args))
	}
	for k, v := range p.Args {
		args = append(args, strPair{k, v})
	}
	return appendRest(b, &restFields{user: p.User, workdir: p.Workdir, kind: p.Kind, args: args,
		base: p.Base, sources: p.Sources, inputs: p.Inputs, parents: p.Parents})
}

// strPair is one member of a preimage's args object.
type strPair struct{ k, v string }

// restFields are a preimage's members after the state prefix. Compile
// fills them without building a Preimage (and its args map) per step.
type restFields struct {
	user, workdir, kind string
	// userWorkdir, when set, is the user and workdir members already
	// encoded (`,"user":…,"workdir":…`): Compile keeps them while they
	// do not change.
	userWorkdir []byte
	// ours says the kind, the arg names and the parents are this
	// package's own (kind names, fixed arg names, digests it made), which
	// need no JSON escaping.
	ours    bool
	args    []strPair // any order: sorted in place when written
	base    *BaseIdentity
	sources []string
	inputs  []InputFile
	entries []*Entry // hashed entries, written as inputs when inputs is empty
	parents []digest.Digest
}

// appendRest appends r's members and closes the object.
func appendRest(b []byte, r *restFields) []byte {
	if r.userWorkdir != nil {
		b = append(b, r.userWorkdir...)
	} else {
		b = appendUserWorkdir(b, r.user, r.workdir)
	}
	b = append(b, `,"kind":`...)
	b = appendMaybePlain(b, r.kind, r.ours)
	b = append(b, `,"args":{`...)
	args := r.args
	for i := 1; i < len(args); i++ { // a handful: insertion sort
		for j := i; j > 0 && args[j].k < args[j-1].k; j-- {
			args[j], args[j-1] = args[j-1], args[j]
		}
	}
	for i, a := range args {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendMaybePlain(b, a.k, r.ours)
		b = append(b, ':')
		b = appendJSONString(b, a.v)
	}
	b = append(b, '}')
	if r.base != nil {
		b = append(b, `,"base":{"digest":`...)
		b = appendJSONString(b, string(r.base.Digest))
		b = append(b, `,"template":`...)
		b = appendJSONString(b, r.base.Template)
		if r.base.Unresolved {
			b = append(b, `,"unresolved":true`...)
		}
		b = append(b, '}')
	}
	if len(r.sources) > 0 {
		b = append(b, `,"sources":[`...)
		for i, s := range r.sources {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	if len(r.inputs) > 0 {
		b = append(b, `,"inputs":[`...)
		for i, f := range r.inputs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendInput(b, &f)
		}
		b = append(b, ']')
	} else if len(r.entries) > 0 {
		b = append(b, `,"inputs":[`...)
		for i, e := range r.entries {
			if i > 0 {
				b = append(b, ',')
			}
			f := e.input()
			b = appendInput(b, &f)
		}
		b = append(b, ']')
	}
	b = append(b, `,"parents":[`...)
	for i, d := range r.parents {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendMaybePlain(b, string(d), r.ours)
	}
	b = append(b, ']')
	return append(b, '}')
}

// appendMaybePlain appends s as a JSON string, copied as it is when plain
// says it needs no escaping.
func appendMaybePlain(b []byte, s string, plain bool) []byte {
	if !plain {
		return appendJSONString(b, s)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendUserWorkdir appends the user and workdir members.
func appendUserWorkdir(b []byte, user, workdir string) []byte {
	b = append(b, `,"user":`...)
	b = appendJSONString(b, user)
	b = append(b, `,"workdir":`...)
	return appendJSONString(b, workdir)
}

func appendInput(b []byte, f *InputFile) []byte {
	b = append(b, '{')
	sep := false
	if f.Digest != "" {
		b = append(b, `"digest":`...)
		b = appendJSONString(b, string(f.Digest))
		sep = true
	}
	if f.Link != "" {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"link":`...)
		b = appendJSONString(b, f.Link)
		sep = true
	}
	if sep {
		b = append(b, ',')
	}
	b = append(b, `"mode":`...)
	b = strconv.AppendUint(b, uint64(f.Mode), 10)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, f.Path)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, f.Type)
	return append(b, '}')
}
