package cache

import (
	"context"
	"slices"
	"sort"
	"time"
)

// Graph is every record (without preimages) with the relations the
// inspection commands need: which refs use a key, which keys depend on it,
// which are held by a running build. Building it reads the store once.
type Graph struct {
	Records map[string]*Record
	// Order is every key, in key order.
	Order []string
	Refs  []Ref
	// RefsOf lists, for each key reachable from a ref's final key through
	// Parents, the names of those refs (sorted).
	RefsOf map[string][]string
	// Children maps a key to the records that name it as a parent.
	Children map[string][]string
	// Held holds the keys of live leases and their ancestors, and the keys
	// of records whose snapshot a lease names.
	Held map[string]bool
	// HeldLayers are the agent layer ids live leases name.
	HeldLayers map[string]bool
}

// LoadGraph reads the store into a Graph.
func LoadGraph(ctx context.Context, s Store, now time.Time) (*Graph, error) {
	g := &Graph{Records: map[string]*Record{}, RefsOf: map[string][]string{}, Children: map[string][]string{}, Held: map[string]bool{}, HeldLayers: map[string]bool{}}
	err := s.Records(ctx, false, func(r Record) error {
		rc := r
		g.Records[r.Key] = &rc
		g.Order = append(g.Order, r.Key)
		for _, p := range r.Parents {
			g.Children[p] = append(g.Children[p], r.Key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if g.Refs, err = s.Refs(ctx); err != nil {
		return nil, err
	}
	for _, ref := range g.Refs {
		mark := map[string]bool{}
		add := func(k string) {
			if !mark[k] {
				mark[k] = true
				g.RefsOf[k] = append(g.RefsOf[k], ref.Name)
			}
		}
		g.walk(ref.Key, add)
		for _, k := range ref.Keys {
			g.walk(k, add)
		}
	}
	for _, names := range g.RefsOf {
		sort.Strings(names)
	}
	leases, err := s.Leases(ctx, now)
	if err != nil {
		return nil, err
	}
	for _, l := range leases {
		for _, id := range l.Layers {
			g.HeldLayers[id] = true
		}
		for _, k := range l.Keys {
			g.walk(k, func(k string) { g.Held[k] = true })
		}
	}
	if len(g.HeldLayers) > 0 {
		for _, k := range g.Order {
			if g.HeldLayers[g.Records[k].Snapshot.ID] {
				g.walk(k, func(k string) { g.Held[k] = true })
			}
		}
	}
	return g, nil
}

// walk calls fn for key and every ancestor once (keys without a record
// included: a ref may name a final key whose step made no layer).
func (g *Graph) walk(key string, fn func(string)) {
	seen := map[string]bool{}
	stack := []string{key}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		fn(k)
		if r := g.Records[k]; r != nil {
			stack = append(stack, r.Parents...)
		}
	}
}

// Chain returns key and its chain parents back to the base, key first.
func (g *Graph) Chain(key string) []string {
	var out []string
	for k := key; k != ""; {
		if slices.Contains(out, k) {
			break
		}
		out = append(out, k)
		r := g.Records[k]
		if r == nil {
			break
		}
		k = r.Parent()
	}
	return out
}

// Reclaimable reports whether prune without --all may delete key: no ref
// uses it and no running build holds it.
func (g *Graph) Reclaimable(key string) bool {
	return len(g.RefsOf[key]) == 0 && !g.Held[key]
}
