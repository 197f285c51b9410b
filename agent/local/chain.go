package local

import (
	"errors"
	"fmt"

	"wrenn.dev/wrenn/agent"
)

// maxLowers is overlayfs's stack limit (OVL_MAX_STACK).
const maxLowers = 500

// lowerEntry is one directory of a chain, top first.
type lowerEntry struct {
	kind string // "layer" or "template"
	id   string
	link string
}

// on names what something sits on: a layer, else a template, else nothing
// (a standalone imported layer).
type on struct {
	layer    string
	template string
}

// chain resolves the lower directories below and including o, top first.
func (b *Backend) chain(o on) ([]lowerEntry, error) {
	var out []lowerEntry
	for o.layer != "" || o.template != "" {
		if len(out) > maxLowers {
			return nil, fmt.Errorf("layer chain deeper than %d: %w", maxLowers, agent.ErrInvalid)
		}
		if o.layer != "" {
			m, err := b.readLayer(o.layer)
			if err != nil {
				return nil, err
			}
			out = append(out, lowerEntry{"layer", m.ID, m.Link})
			o = on{layer: m.Parent}
			if m.Parent == "" {
				o.template = m.Template
			}
			continue
		}
		t, err := b.readTemplate(o.template)
		if err != nil {
			return nil, err
		}
		out = append(out, lowerEntry{"template", t.ID, t.Link})
		o = on{layer: t.ParentLayer}
		if t.ParentLayer == "" {
			o.template = t.ParentTemplate
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty layer chain")
	}
	return out, nil
}

// bottomTemplate is the template id at the bottom of o's chain ("" for a
// standalone layer chain).
func bottomTemplate(chain []lowerEntry) string {
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i].kind == "template" {
			return chain[i].id
		}
	}
	return ""
}

// layerDepth is the number of layers in the chain (templates not counted).
func layerDepth(chain []lowerEntry) int {
	n := 0
	for _, e := range chain {
		if e.kind == "layer" {
			n++
		}
	}
	return n
}
