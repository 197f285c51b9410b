package cache

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"time"
)

// PruneOptions select what Prune deletes.
type PruneOptions struct {
	// All also deletes layers that refs use (never held ones).
	All bool
	// Until keeps every record used within this long.
	Until time.Duration
	// KeepStorage stops pruning once the records left total at most this
	// many bytes (0: no budget, delete everything eligible).
	KeepStorage int64
	Filter      Filter
	DryRun      bool
	// KeepOrphans leaves agent layers that no record points to. Set it
	// when several caches share one agent.
	KeepOrphans bool
	Now         time.Time
}

// PruneResult says what Prune did (or, with DryRun, would do).
type PruneResult struct {
	Deleted []Record    `json:"deleted"`
	Orphans []LayerInfo `json:"orphans"`
	// Skipped are eligible records Prune left, with the reason.
	Skipped    []Skipped `json:"skipped"`
	FreedBytes int64     `json:"freed_bytes"`
	LeftBytes  int64     `json:"left_bytes"`
}

// Skipped is a record or layer Prune could not delete.
type Skipped struct {
	Key    string `json:"key,omitempty"`
	Layer  string `json:"layer,omitempty"`
	Reason string `json:"reason"`
}

// Prune deletes cache records and their agent snapshots, least recently
// used first. It never deletes a held record, a record a kept record
// depends on (children go first), or, without All, one a ref uses.
//
// Crash order: each record is deleted from the store before its snapshot
// on the agent, so a crash between the two leaves a snapshot no record
// points to (an orphan, which the next prune or verify --repair removes),
// never a record pointing at nothing. When the agent refuses (the layer
// is in use) the record is put back.
//
// agent may be nil only with DryRun.
func Prune(ctx context.Context, s Store, agent AgentLayers, o PruneOptions) (*PruneResult, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if agent == nil && !o.DryRun {
		return nil, errors.New("prune needs the agent (--root or --agent) to delete snapshots; --dry-run does not")
	}
	g, err := LoadGraph(ctx, s, o.Now)
	if err != nil {
		return nil, err
	}
	agentID := ""
	if agent != nil {
		if agentID, err = agent.Identity(ctx); err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
	}
	res := &PruneResult{Deleted: []Record{}, Orphans: []LayerInfo{}, Skipped: []Skipped{}}
	var total int64
	for _, k := range g.Order {
		total += g.Records[k].SizeBytes
	}

	eligible := func(r *Record) bool {
		if g.Held[r.Key] || (!o.All && len(g.RefsOf[r.Key]) > 0) {
			return false
		}
		if o.Until > 0 && o.Now.Sub(r.LastUsed) < o.Until {
			return false
		}
		return o.Filter.Match(g, r, o.Now)
	}
	// Only leaves can go: count the children still present.
	kids := make(map[string]int, len(g.Records))
	for _, k := range g.Order {
		for _, p := range g.Records[k].Parents {
			if g.Records[p] != nil {
				kids[p]++
			}
		}
	}
	h := &lruHeap{}
	for _, k := range g.Order {
		if r := g.Records[k]; kids[k] == 0 && eligible(r) {
			heap.Push(h, r)
		}
	}
	for h.Len() > 0 {
		if o.KeepStorage > 0 && total <= o.KeepStorage {
			break
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		r := heap.Pop(h).(*Record)
		if !o.DryRun {
			if agentID != "" && r.Snapshot.Agent != "" && r.Snapshot.Agent != agentID {
				res.Skipped = append(res.Skipped, Skipped{Key: r.Key, Reason: fmt.Sprintf("made on agent %s, not this one (%s)", r.Snapshot.Agent, agentID)})
				continue
			}
			if err := deleteWithSnapshot(ctx, s, agent, r); err != nil {
				if errors.Is(err, ErrInUse) {
					res.Skipped = append(res.Skipped, Skipped{Key: r.Key, Layer: r.Snapshot.ID, Reason: "in use on the agent"})
					continue
				}
				return res, err
			}
		}
		res.Deleted = append(res.Deleted, *r)
		res.FreedBytes += r.SizeBytes
		total -= r.SizeBytes
		for _, p := range r.Parents {
			if pr := g.Records[p]; pr != nil {
				if kids[p]--; kids[p] == 0 && eligible(pr) {
					heap.Push(h, pr)
				}
			}
		}
	}
	res.LeftBytes = total
	if agent != nil && !o.KeepOrphans && !o.DryRun {
		if err := pruneOrphans(ctx, s, agent, agentID, g, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// deleteWithSnapshot removes the record, then its snapshot, restoring the
// record when the agent refuses.
func deleteWithSnapshot(ctx context.Context, s Store, agent AgentLayers, r *Record) error {
	full, err := s.Get(ctx, r.Key) // with its preimage, to restore it
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.Delete(ctx, r.Key); err != nil {
		return err
	}
	if err := agentDelete(ctx, agent, r.Snapshot); err != nil {
		if perr := s.Put(context.WithoutCancel(ctx), full); perr != nil {
			return fmt.Errorf("deleting layer %s: %w (and restoring its record failed: %v)", r.Snapshot.ID, err, perr)
		}
		return err
	}
	return nil
}

// pruneOrphans deletes agent layers that no record points to and no lease
// holds, children before parents.
func pruneOrphans(ctx context.Context, s Store, agent AgentLayers, agentID string, g *Graph, res *PruneResult) error {
	orphans, err := findOrphans(ctx, s, agent, agentID, g)
	if err != nil {
		return err
	}
	for _, l := range orphans {
		switch err := agent.DeleteLayer(ctx, l.ID); {
		case err == nil, errors.Is(err, ErrNotFound):
			res.Orphans = append(res.Orphans, l)
			res.FreedBytes += l.SizeBytes
		case errors.Is(err, ErrInUse):
			res.Skipped = append(res.Skipped, Skipped{Layer: l.ID, Reason: "orphan layer in use on the agent"})
		default:
			return fmt.Errorf("deleting orphan layer %s: %w", l.ID, err)
		}
	}
	return nil
}

// findOrphans lists the agent's layers that no record of this agent points
// to and no lease holds, ordered so that a layer comes before its parent.
func findOrphans(ctx context.Context, s Store, agent AgentLayers, agentID string, g *Graph) ([]LayerInfo, error) {
	layers, err := agent.ListLayers(ctx)
	if err != nil {
		return nil, fmt.Errorf("agent: listing layers: %w", err)
	}
	// Re-read the records: prune has just changed them.
	used := map[string]bool{}
	err = s.Records(ctx, false, func(r Record) error {
		if r.Snapshot.Kind != KindSnapshot && (r.Snapshot.Agent == "" || r.Snapshot.Agent == agentID) {
			used[r.Snapshot.ID] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	byID := map[string]LayerInfo{}
	for _, l := range layers {
		byID[l.ID] = l
	}
	// A layer under a used or held one stays too.
	keep := map[string]bool{}
	for _, l := range layers {
		if used[l.ID] || g.HeldLayers[l.ID] {
			for id := l.ID; id != "" && !keep[id]; id = byID[id].Parent {
				keep[id] = true
			}
		}
	}
	depth := func(id string) int {
		n := 0
		for seen := map[string]bool{}; id != "" && !seen[id]; id = byID[id].Parent {
			seen[id] = true
			n++
		}
		return n
	}
	var out []LayerInfo
	for _, l := range layers {
		if !keep[l.ID] {
			out = append(out, l)
		}
	}
	sortByDepthDesc(out, depth)
	return out, nil
}

// lruHeap pops the least recently used record first (then by key, so the
// order is deterministic).
type lruHeap []*Record

func (h lruHeap) Len() int { return len(h) }
func (h lruHeap) Less(i, j int) bool {
	if !h[i].LastUsed.Equal(h[j].LastUsed) {
		return h[i].LastUsed.Before(h[j].LastUsed)
	}
	return h[i].Key < h[j].Key
}
func (h lruHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *lruHeap) Push(x any)   { *h = append(*h, x.(*Record)) }
func (h *lruHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
