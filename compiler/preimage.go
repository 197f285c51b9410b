package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"
)

// PreimageVersion is the version of the key preimage encoding (SPEC.md
// section 4). Any change to what goes into a key, or how, bumps it, so old
// and new keys never collide. Version 2 put the members in a fixed order
// with the run state first (version 1 sorted them by name), so that steps
// in the same env share the hash of the preimage's prefix.
const PreimageVersion = 2

// Preimage is everything a layer key depends on, and nothing else. Its
// encoding (Encode) is canonical JSON: members in the fixed order of this
// struct's fields, maps with sorted keys, no insignificant space, no HTML
// escaping. A key is digest.FromBytes(p.Encode()).
//
// The JSON field names and their order are part of the key: encoding/json
// emits fields in declaration order, so it produces the canonical bytes
// too (TestHandEncoderMatchesEncodingJSON). The first three members are
// the step's env state, which changes only at ENV, ARG and USER: Compile
// hashes that prefix once per change and only the rest per step.
type Preimage struct {
	Version int `json:"version"`
	// Env is the full environment the step runs with.
	Env map[string]string `json:"env"`
	// BuildArgs are the ARG values in scope (set ones only).
	BuildArgs map[string]string `json:"build_args"`
	User      string            `json:"user"`
	Workdir   string            `json:"workdir"`
	Kind      string            `json:"kind"`
	// Args are the instruction's canonical arguments by name (see SPEC.md
	// for each kind).
	Args map[string]string `json:"args"`
	// Base is the base template identity (kind BASE only).
	Base *BaseIdentity `json:"base,omitempty"`
	// Sources are COPY's source arguments, cleaned, in source order.
	Sources []string `json:"sources,omitempty"`
	// Inputs are the files a COPY selects from the build context, sorted
	// by path.
	Inputs []InputFile `json:"inputs,omitempty"`
	// Parents are the keys this one builds on: the previous step (or the
	// stage base), then for COPY --from the source stage's final key.
	Parents []digest.Digest `json:"parents"`
}

// BaseIdentity is what a base template contributes to the keys built on
// it.
type BaseIdentity struct {
	Digest digest.Digest `json:"digest"`
	// Template is the name the Wrennfile used.
	Template string `json:"template"`
	// Unresolved is true when Digest was derived from the name alone
	// because no resolver knew the template (offline compile).
	Unresolved bool `json:"unresolved,omitempty"`
}

// InputFile is one selected build-context entry. Never mtime, uid or gid:
// COPY chowns anyway, and a touch must not miss the cache.
type InputFile struct {
	// Digest is the sha256 of the content (regular files only).
	Digest digest.Digest `json:"digest,omitempty"`
	// Link is the symlink target (symlinks only).
	Link string `json:"link,omitempty"`
	// Mode holds the permission bits, setuid, setgid and sticky (07777).
	Mode uint32 `json:"mode"`
	// Path is relative to the context root, slash-separated.
	Path string `json:"path"`
	// Type is "file", "dir" or "symlink".
	Type string `json:"type"`
}

// Encode returns the canonical encoding of p. Nil maps and lists encode
// as {} and [] so that "absent" and "empty" hash the same.
func (p *Preimage) Encode() []byte {
	b := appendStatePrefix(nil, p.Version, appendStringMap(nil, p.Env), appendStringMap(nil, p.BuildArgs))
	return p.appendRest(b)
}

// encodeJSON is the reference encoding through encoding/json, kept for the
// tests that prove the hand-written encoder equal to it.
func (p *Preimage) encodeJSON() []byte {
	q := *p
	if q.Args == nil {
		q.Args = map[string]string{}
	}
	if q.BuildArgs == nil {
		q.BuildArgs = map[string]string{}
	}
	if q.Env == nil {
		q.Env = map[string]string{}
	}
	if q.Parents == nil {
		q.Parents = []digest.Digest{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&q); err != nil {
		panic(fmt.Sprintf("compiler: encode preimage: %v", err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Key is the layer key of p.
func (p *Preimage) Key() digest.Digest { return digest.FromBytes(p.Encode()) }

// DecodePreimage parses an encoded preimage, so that `cache explain` can
// compare the stored preimages of two keys without recompiling anything.
// It rejects versions it does not know.
func DecodePreimage(b []byte) (*Preimage, error) {
	var p Preimage
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode preimage: %w", err)
	}
	if p.Version != PreimageVersion {
		return nil, fmt.Errorf("decode preimage: unknown version %d (this wrenn knows %d)", p.Version, PreimageVersion)
	}
	return &p, nil
}

// PreimageDiff is one field that differs between two preimages.
type PreimageDiff struct {
	// Field is a path such as "env.PATH", "inputs[app/main.go].digest" or
	// "parents[0]".
	Field string
	Old   string
	New   string
}

// DiffPreimages lists the fields that differ between a and b, in the order
// a reader should look at them: kind and arguments first, then the run
// state, inputs, and the parents last (a parent differs whenever anything
// before differs).
func DiffPreimages(a, b *Preimage) []PreimageDiff {
	var out []PreimageDiff
	add := func(field, x, y string) {
		if x != y {
			out = append(out, PreimageDiff{Field: field, Old: x, New: y})
		}
	}
	add("version", fmt.Sprint(a.Version), fmt.Sprint(b.Version))
	add("kind", a.Kind, b.Kind)
	diffMap("args", a.Args, b.Args, add)
	add("sources", fmt.Sprint(a.Sources), fmt.Sprint(b.Sources))
	if a.Base != nil || b.Base != nil {
		var x, y BaseIdentity
		if a.Base != nil {
			x = *a.Base
		}
		if b.Base != nil {
			y = *b.Base
		}
		add("base.template", x.Template, y.Template)
		add("base.digest", string(x.Digest), string(y.Digest))
		add("base.unresolved", fmt.Sprint(x.Unresolved), fmt.Sprint(y.Unresolved))
	}
	add("user", a.User, b.User)
	add("workdir", a.Workdir, b.Workdir)
	diffMap("env", a.Env, b.Env, add)
	diffMap("build_args", a.BuildArgs, b.BuildArgs, add)
	diffInputs(a.Inputs, b.Inputs, add)
	n := max(len(a.Parents), len(b.Parents))
	for i := 0; i < n; i++ {
		var x, y string
		if i < len(a.Parents) {
			x = string(a.Parents[i])
		}
		if i < len(b.Parents) {
			y = string(b.Parents[i])
		}
		add(fmt.Sprintf("parents[%d]", i), x, y)
	}
	return out
}

const absent = "<absent>"

func diffMap(name string, a, b map[string]string, add func(string, string, string)) {
	for _, k := range sortedUnion(a, b) {
		x, ok := a[k]
		if !ok {
			x = absent
		}
		y, ok := b[k]
		if !ok {
			y = absent
		}
		add(name+"."+k, x, y)
	}
}

func sortedUnion(a, b map[string]string) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]string{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sortStrings(keys)
	return keys
}

func diffInputs(a, b []InputFile, add func(string, string, string)) {
	am := map[string]InputFile{}
	bm := map[string]InputFile{}
	var paths []string
	for _, f := range a {
		am[f.Path] = f
		paths = append(paths, f.Path)
	}
	for _, f := range b {
		if _, ok := am[f.Path]; !ok {
			paths = append(paths, f.Path)
		}
		bm[f.Path] = f
	}
	sortStrings(paths)
	for _, p := range paths {
		x, xok := am[p]
		y, yok := bm[p]
		field := "inputs[" + p + "]"
		switch {
		case !xok:
			add(field, absent, y.Type)
		case !yok:
			add(field, x.Type, absent)
		default:
			add(field+".type", x.Type, y.Type)
			add(field+".mode", fmt.Sprintf("%04o", x.Mode), fmt.Sprintf("%04o", y.Mode))
			add(field+".link", x.Link, y.Link)
			add(field+".digest", string(x.Digest), string(y.Digest))
		}
	}
}
