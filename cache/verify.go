package cache

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Problem kinds reported by Verify.
const (
	ProblemMissing      = "missing-snapshot" // a record whose snapshot is gone
	ProblemSize         = "size-mismatch"    // a record whose size differs from the agent's
	ProblemDigest       = "digest-mismatch"  // a record whose content digest differs
	ProblemOrphan       = "orphan-layer"     // an agent layer no record points to
	ProblemForeignAgent = "other-agent"      // a record made on another agent (not checked)
)

// Problem is one inconsistency between the records and the agent.
type Problem struct {
	Kind     string `json:"kind"`
	Key      string `json:"key,omitempty"`
	Layer    string `json:"layer,omitempty"`
	Message  string `json:"message"`
	Repaired bool   `json:"repaired"`
}

// VerifyResult lists what Verify found.
type VerifyResult struct {
	Checked  int       `json:"checked"`
	Layers   int       `json:"layers"`
	Problems []Problem `json:"problems"`
}

// Failed reports whether a problem is left unrepaired (other-agent records
// are informational).
func (v *VerifyResult) Failed() bool {
	for _, p := range v.Problems {
		if !p.Repaired && p.Kind != ProblemForeignAgent {
			return true
		}
	}
	return false
}

// Verify checks every record against the agent (snapshot present, size and
// digest as recorded) and every agent layer against the records. With
// repair it deletes dead records and then orphan layers (children first).
func Verify(ctx context.Context, s Store, agent AgentLayers, repair bool) (*VerifyResult, error) {
	agentID, err := agent.Identity(ctx)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	layers, err := agent.ListLayers(ctx)
	if err != nil {
		return nil, fmt.Errorf("agent: listing layers: %w", err)
	}
	onAgent := make(map[string]LayerInfo, len(layers))
	for _, l := range layers {
		onAgent[l.ID] = l
	}
	g, err := LoadGraph(ctx, s, time.Now())
	if err != nil {
		return nil, err
	}
	res := &VerifyResult{Layers: len(layers), Problems: []Problem{}}
	for _, k := range g.Order {
		r := g.Records[k]
		if r.Snapshot.Agent != "" && r.Snapshot.Agent != agentID {
			res.Problems = append(res.Problems, Problem{Kind: ProblemForeignAgent, Key: k, Layer: r.Snapshot.ID,
				Message: fmt.Sprintf("%s: made on agent %s, not checked against %s", describe(r), r.Snapshot.Agent, agentID)})
			continue
		}
		res.Checked++
		var info LayerInfo
		var ok bool
		if r.Snapshot.Kind == KindSnapshot {
			t, err := agent.GetTemplate(ctx, "", r.Snapshot.ID) // the template's name
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("agent: snapshot %s: %w", r.Snapshot.ID, err)
			}
			ok = err == nil
			info = LayerInfo{ID: t.ID, Digest: t.Digest, SizeBytes: t.SizeBytes}
		} else {
			info, ok = onAgent[r.Snapshot.ID]
		}
		p := Problem{Key: k, Layer: r.Snapshot.ID}
		switch {
		case !ok:
			p.Kind = ProblemMissing
			p.Message = fmt.Sprintf("%s: %s %s is gone from the agent", describe(r), r.Snapshot.Kind, r.Snapshot.ID)
		case r.SizeBytes > 0 && info.SizeBytes > 0 && r.SizeBytes != info.SizeBytes:
			p.Kind = ProblemSize
			p.Message = fmt.Sprintf("%s: recorded size %d bytes, the agent has %d bytes for %s", describe(r), r.SizeBytes, info.SizeBytes, r.Snapshot.ID)
		case r.Digest != "" && info.Digest != "" && r.Digest != info.Digest:
			p.Kind = ProblemDigest
			p.Message = fmt.Sprintf("%s: recorded digest %s, the agent has %s for %s", describe(r), r.Digest, info.Digest, r.Snapshot.ID)
		default:
			continue
		}
		res.Problems = append(res.Problems, p)
	}
	if repair {
		for i := range res.Problems {
			p := &res.Problems[i]
			if p.Kind == ProblemForeignAgent || p.Key == "" {
				continue
			}
			if err := s.Delete(ctx, p.Key); err != nil {
				return res, err
			}
			p.Repaired = true
		}
	}
	orphans, err := findOrphans(ctx, s, agent, agentID, g)
	if err != nil {
		return res, err
	}
	for _, l := range orphans {
		p := Problem{Kind: ProblemOrphan, Layer: l.ID,
			Message: fmt.Sprintf("layer %s (%d bytes) is on the agent but no record points to it", l.ID, l.SizeBytes)}
		if repair {
			switch err := agent.DeleteLayer(ctx, l.ID); {
			case err == nil, errors.Is(err, ErrNotFound):
				p.Repaired = true
			case errors.Is(err, ErrInUse):
				p.Message += " (in use, not deleted)"
			default:
				return res, fmt.Errorf("deleting orphan layer %s: %w", l.ID, err)
			}
		}
		res.Problems = append(res.Problems, p)
	}
	return res, nil
}

// describe names a record for a person: short key, source line and text.
func describe(r *Record) string {
	s := ShortKey(r.Key)
	if r.Source.Start.Line > 0 {
		s += fmt.Sprintf(" (line %d %s)", r.Source.Start.Line, r.Text)
	} else if r.Text != "" {
		s += fmt.Sprintf(" (%s)", r.Text)
	}
	return s
}

func sortByDepthDesc(ls []LayerInfo, depth func(string) int) {
	d := make(map[string]int, len(ls))
	for _, l := range ls {
		d[l.ID] = depth(l.ID)
	}
	sort.SliceStable(ls, func(i, j int) bool {
		if d[ls[i].ID] != d[ls[j].ID] {
			return d[ls[i].ID] > d[ls[j].ID]
		}
		return ls[i].ID < ls[j].ID
	})
}
