package cache

import (
	"context"
	"sort"
	"time"
)

// Entry is one row of `wrenn cache ls`; its JSON is the documented output.
type Entry struct {
	Key       string    `json:"key"`
	Text      string    `json:"text"`
	SizeBytes int64     `json:"size_bytes"`
	Created   time.Time `json:"created"`
	LastUsed  time.Time `json:"last_used"`
	Hits      int64     `json:"hits"`
	Refs      []string  `json:"refs"`
	Held      bool      `json:"-"`
	Kind      string    `json:"-"`
}

// List returns the records that pass f, most recently used first.
func List(ctx context.Context, s Store, f Filter, now time.Time) ([]Entry, error) {
	g, err := LoadGraph(ctx, s, now)
	if err != nil {
		return nil, err
	}
	// Sort pointers, not entries: moving 100,000 wide structs dominated.
	sel := make([]*Record, 0, len(g.Order))
	for _, k := range g.Order {
		if r := g.Records[k]; f.Match(g, r, now) {
			sel = append(sel, r)
		}
	}
	sort.Slice(sel, func(i, j int) bool {
		if !sel[i].LastUsed.Equal(sel[j].LastUsed) {
			return sel[i].LastUsed.After(sel[j].LastUsed)
		}
		return sel[i].Key < sel[j].Key
	})
	empty := []string{}
	out := make([]Entry, len(sel))
	for i, r := range sel {
		refs := g.RefsOf[r.Key]
		if refs == nil {
			refs = empty
		}
		out[i] = Entry{Key: r.Key, Text: r.Text, SizeBytes: r.SizeBytes, Created: r.Created, LastUsed: r.LastUsed, Hits: r.Hits, Refs: refs, Held: g.Held[r.Key], Kind: string(r.Snapshot.Kind)}
	}
	return out, nil
}

// Usage is the answer of `wrenn cache du`.
type Usage struct {
	Records          int             `json:"records"`
	TotalBytes       int64           `json:"total_bytes"`
	ReclaimableBytes int64           `json:"reclaimable_bytes"`
	HeldBytes        int64           `json:"held_bytes"`
	Templates        []TemplateUsage `json:"templates"`
}

// TemplateUsage is one ref's share: every layer its chain uses, and the
// part no other ref uses (what deleting the ref would reclaim).
type TemplateUsage struct {
	Name           string `json:"name"`
	Key            string `json:"key"`
	Layers         int    `json:"layers"`
	SizeBytes      int64  `json:"size_bytes"`
	ExclusiveBytes int64  `json:"exclusive_bytes"`
}

// DiskUsage sums record sizes: in total, reclaimable by a plain prune (no
// ref uses them, no build holds them), and per ref.
func DiskUsage(ctx context.Context, s Store, now time.Time) (Usage, error) {
	g, err := LoadGraph(ctx, s, now)
	if err != nil {
		return Usage{}, err
	}
	u := Usage{Records: len(g.Order), Templates: []TemplateUsage{}}
	per := map[string]*TemplateUsage{}
	for _, ref := range g.Refs {
		t := &TemplateUsage{Name: ref.Name, Key: ref.Key}
		per[ref.Name] = t
	}
	for _, k := range g.Order {
		r := g.Records[k]
		u.TotalBytes += r.SizeBytes
		if g.Held[k] {
			u.HeldBytes += r.SizeBytes
		}
		if g.Reclaimable(k) {
			u.ReclaimableBytes += r.SizeBytes
		}
		refs := g.RefsOf[k]
		for _, name := range refs {
			t := per[name]
			t.Layers++
			t.SizeBytes += r.SizeBytes
			if len(refs) == 1 {
				t.ExclusiveBytes += r.SizeBytes
			}
		}
	}
	for _, ref := range g.Refs {
		u.Templates = append(u.Templates, *per[ref.Name])
	}
	return u, nil
}
