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
	base bool // a base template (bootstrapped, imported or flattened)
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
			out = append(out, lowerEntry{kind: "layer", id: m.ID, link: m.Link})
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
		out = append(out, lowerEntry{kind: "template", id: t.ID, link: t.Link, base: t.Type != "snapshot"})
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

// baseTemplate is the template a chain's layers are based on: the
// nearest base template (a flattened one sits on a chain of its own but
// stands for it), else the bottom template ("" for a standalone layer
// chain).
func baseTemplate(chain []lowerEntry) string {
	bottom := ""
	for _, e := range chain {
		if e.kind == "template" {
			if e.base {
				return e.id
			}
			bottom = e.id
		}
	}
	return bottom
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
