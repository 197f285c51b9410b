package cache

import (
	"context"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/compiler"
)

// NewRecord is the record the executor stores for step once the agent has
// committed its layer (or snapshot) as snap with the given content digest
// and size. It fills the parents (nearest ancestors that make a layer),
// text, source range, preimage and stage from the plan.
func NewRecord(p *compiler.Plan, step *compiler.Step, snap SnapshotRef, contentDigest string, size int64, template string) Record {
	now := time.Now().UTC()
	stage := ""
	if step.Stage >= 0 && step.Stage < len(p.Stages) {
		st := p.Stages[step.Stage]
		stage = st.Name
	}
	return Record{
		Key:       step.Key.String(),
		Snapshot:  snap,
		Parents:   RecordParents(p, step),
		Text:      step.Text,
		Source:    step.Range,
		Preimage:  step.Preimage(),
		Digest:    contentDigest,
		SizeBytes: size,
		Created:   now,
		LastUsed:  now,
		Template:  template,
		Stage:     stage,
	}
}

// NewRef is the ref the executor stores after building p as name.
func NewRef(p *compiler.Plan, name, templateID string) Ref {
	return Ref{Name: name, Key: p.FinalKey().String(), Keys: LayerKeys(p), TemplateID: templateID, Created: time.Now().UTC()}
}

// LayerKeys are the keys of the plan's steps that make a layer, in plan
// order: the keys a build looks up and records.
func LayerKeys(p *compiler.Plan) []string {
	var keys []string
	for _, s := range p.Steps {
		if s.MakesLayer {
			keys = append(keys, s.Key.String())
		}
	}
	return keys
}

// RecordParents maps a step's plan parents to the keys its record names:
// for each, the nearest ancestor that makes a layer, or the stage's base
// key when the chain reaches the base template first.
func RecordParents(p *compiler.Plan, step *compiler.Step) []string {
	var out []string
	add := func(k digest.Digest) {
		if k == "" {
			return
		}
		for _, x := range out {
			if x == k.String() {
				return
			}
		}
		out = append(out, k.String())
	}
	if len(step.Parents) == 0 {
		add(stageBase(p, step.Stage, 0))
		return out
	}
	for _, id := range step.Parents {
		add(layerAncestor(p, id, 0))
	}
	return out
}

// layerAncestor returns the key of step id if it makes a layer, else of
// its nearest chain ancestor that does, else its stage's base key.
func layerAncestor(p *compiler.Plan, id, depth int) digest.Digest {
	for s := p.Step(id); s != nil && depth < len(p.Steps)+len(p.Stages)+1; depth++ {
		if s.MakesLayer {
			return s.Key
		}
		if len(s.Parents) == 0 {
			return stageBase(p, s.Stage, depth+1)
		}
		s = p.Step(s.Parents[0])
	}
	return ""
}

// stageBase is the key a stage's first step builds on: the base template
// key, or the layer ancestor of the stage it starts from.
func stageBase(p *compiler.Plan, stage, depth int) digest.Digest {
	if stage < 0 || stage >= len(p.Stages) || depth > len(p.Steps)+len(p.Stages) {
		return ""
	}
	st := p.Stages[stage]
	if st.BaseStage < 0 || st.BaseStage >= len(p.Stages) {
		return st.BaseKey
	}
	base := p.Stages[st.BaseStage]
	if len(base.Steps) == 0 {
		return stageBase(p, st.BaseStage, depth+1)
	}
	return layerAncestor(p, base.Steps[len(base.Steps)-1], depth+1)
}

// BaseOptions fills the compiler's base identity and starting env from
// the bases the store remembers (the most recently updated per template,
// any agent), so that an offline compile (explain) computes the keys the
// last build did. Templates the store does not know stay unresolved.
func BaseOptions(ctx context.Context, s Store, opts *compiler.Options) error {
	bases, err := s.Bases(ctx)
	if err != nil {
		return err
	}
	latest := map[string]Base{}
	for _, b := range bases {
		if cur, ok := latest[b.Template]; !ok || b.Updated.After(cur.Updated) {
			latest[b.Template] = b
		}
	}
	if len(latest) == 0 {
		return nil
	}
	if opts.BaseEnvs == nil {
		opts.BaseEnvs = map[string]map[string]string{}
	}
	for name, b := range latest {
		if b.Env != nil {
			opts.BaseEnvs[name] = b.Env
		}
	}
	opts.ResolveBase = func(template string) (digest.Digest, error) {
		b, ok := latest[template]
		if !ok {
			return "", fmt.Errorf("no build with this cache has used it yet")
		}
		return digest.Parse(b.Digest)
	}
	return nil
}
