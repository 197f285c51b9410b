package compiler

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Match is what one COPY source selected: the entries the pattern names
// (Roots) and everything those bring along (a directory brings its whole
// subtree).
type Match struct {
	Source string // cleaned source as written
	Roots  []*Entry
}

// Selection is what a COPY takes from the build context.
type Selection struct {
	Matches []Match
	// Files are every selected entry (roots and their subtrees, without
	// the context root), sorted by path, each once.
	Files []*Entry
}

// SourceError is a COPY source that cannot be used.
type SourceError struct {
	Source string
	// Missing is true when nothing in the context matches (after
	// .wrennignore); otherwise the source is malformed.
	Missing bool
	Reason  string
}

func (e *SourceError) Error() string { return e.Reason }

// CleanSource normalizes a COPY source relative to the context root and
// rejects absolute paths and paths that leave the context.
func CleanSource(src string) (string, error) {
	if strings.HasPrefix(src, "/") {
		return "", &SourceError{Source: src, Reason: fmt.Sprintf("copy source %q is absolute; sources are relative to the build context", src)}
	}
	p := path.Clean(src)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", &SourceError{Source: src, Reason: fmt.Sprintf("copy source %q leaves the build context", src)}
	}
	return p, nil
}

// hasMeta reports whether a source is a pattern.
func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// Select resolves COPY sources against the context. A source is a path or
// a pattern matched per path component with path.Match (so `*` never
// crosses `/`), as Docker's COPY does. A source that matches nothing is a
// *SourceError with Missing set.
func (c *Context) Select(sources []string) (*Selection, error) {
	if len(sources) == 1 && !hasMeta(sources[0]) {
		// The common COPY of one file or symlink: one allocation.
		if src, err := CleanSource(sources[0]); err == nil && src != "." {
			if e, ok := c.entries[src]; ok && e.Type != TypeDir {
				one := &struct {
					sel   Selection
					match [1]Match
					root  [1]*Entry
					file  [1]*Entry
				}{root: [1]*Entry{e}, file: [1]*Entry{e}}
				one.match[0] = Match{Source: src, Roots: one.root[:]}
				one.sel = Selection{Matches: one.match[:], Files: one.file[:]}
				return &one.sel, nil
			}
		}
	}
	sel := &Selection{}
	seen := map[string]bool{}
	add := func(e *Entry) {
		if e.Path == "." || seen[e.Path] {
			return
		}
		seen[e.Path] = true
		sel.Files = append(sel.Files, e)
	}
	for _, raw := range sources {
		src, err := CleanSource(raw)
		if err != nil {
			return nil, err
		}
		m := Match{Source: src}
		if !hasMeta(src) {
			if e, ok := c.entries[src]; ok {
				m.Roots = append(m.Roots, e)
			}
		} else {
			if _, err := path.Match(src, ""); err != nil {
				return nil, &SourceError{Source: raw, Reason: fmt.Sprintf("copy source %q is a malformed pattern", raw)}
			}
			depth := strings.Count(src, "/")
			for _, p := range c.paths {
				if p == "." || strings.Count(p, "/") != depth {
					continue
				}
				if ok, _ := path.Match(src, p); ok {
					m.Roots = append(m.Roots, c.entries[p])
				}
			}
		}
		if len(m.Roots) == 0 {
			if x := c.excludedAt(src); x != "" {
				return nil, &SourceError{Source: raw, Missing: true, Reason: fmt.Sprintf("copy source %q not found in the build context: %s is wrenn's own directory (the agent's root or the cache), never part of it", raw, x)}
			}
			return nil, &SourceError{Source: raw, Missing: true, Reason: fmt.Sprintf("copy source %q not found in the build context", raw)}
		}
		for _, r := range m.Roots {
			add(r)
			if r.Type == TypeDir {
				for _, e := range c.under(r.Path) {
					add(e)
				}
			}
		}
		sel.Matches = append(sel.Matches, m)
	}
	sort.Slice(sel.Files, func(i, j int) bool { return sel.Files[i].Path < sel.Files[j].Path })
	return sel, nil
}

// Inputs hashes the selection (see Context.Hash) and returns it as key
// inputs.
func (c *Context) Inputs(sel *Selection) ([]InputFile, error) {
	if err := c.Hash(sel.Files); err != nil {
		return nil, err
	}
	out := make([]InputFile, len(sel.Files))
	for i, e := range sel.Files {
		out[i] = e.input()
	}
	return out, nil
}

// input is the entry as a key input.
func (e *Entry) input() InputFile {
	return InputFile{Path: e.Path, Type: string(e.Type), Mode: e.Mode, Link: e.Link, Digest: e.Digest()}
}
