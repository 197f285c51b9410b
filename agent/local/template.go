package local

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"wrenn.dev/wrenn/agent"
)

// findTemplate resolves a reference: a template id (ours, or the id the
// caller stored it under) first, then a name, preferring the caller's team.
// An empty reference means DefaultTemplate.
func (b *Backend) findTemplate(ref agent.TemplateRef) (*templateMeta, error) {
	all, err := b.allTemplates()
	if err != nil {
		return nil, err
	}
	if ref.TemplateID != "" {
		for _, t := range all {
			if t.ID == ref.TemplateID || (t.Name != "" && t.RefTemplateID == ref.TemplateID) {
				return t, nil
			}
		}
	}
	name := ref.Name
	if name == "" && ref.TemplateID == "" {
		name = DefaultTemplate
	}
	if name != "" {
		var best *templateMeta
		rank := func(t *templateMeta) int {
			switch t.TeamID {
			case ref.TeamID:
				return 2
			case "":
				return 1
			}
			return 0
		}
		for _, t := range all {
			if t.Name == name && (best == nil || rank(t) > rank(best) || rank(t) == rank(best) && t.Created.After(best.Created)) {
				best = t
			}
		}
		if best != nil {
			return best, nil
		}
	}
	what := name
	if what == "" {
		what = ref.TemplateID
	}
	return nil, fmt.Errorf("template %q: %w", what, errNotFound)
}

func templateInfo(t *templateMeta) agent.TemplateInfo {
	return agent.TemplateInfo{ID: t.ID, Name: t.Name, Type: t.Type, Digest: t.Digest, SizeBytes: t.Size, Created: t.Created}
}

// Template reports a template's digest and size.
func (b *Backend) Template(ctx context.Context, ref agent.TemplateRef) (agent.TemplateInfo, error) {
	t, err := b.findTemplate(ref)
	if err != nil {
		return agent.TemplateInfo{}, err
	}
	return templateInfo(t), nil
}

// ListTemplates lists the named templates, by name.
func (b *Backend) ListTemplates(ctx context.Context) ([]agent.TemplateInfo, error) {
	all, err := b.allTemplates()
	if err != nil {
		return nil, err
	}
	var out []agent.TemplateInfo
	for _, t := range all {
		if t.Name != "" || t.RefTemplateID != "" {
			out = append(out, templateInfo(t))
		}
	}
	slices.SortFunc(out, func(a, c agent.TemplateInfo) int {
		if d := strings.Compare(a.Name, c.Name); d != 0 {
			return d
		}
		return strings.Compare(a.ID, c.ID)
	})
	return out, nil
}

// DeleteSnapshot forgets a stored template. Its files go as soon as no
// sandbox, layer or snapshot sits on it.
func (b *Backend) DeleteSnapshot(ctx context.Context, ref agent.TemplateRef) error {
	if ref.Name == "" && ref.TemplateID == "" {
		return fmt.Errorf("delete snapshot: name or template_id is required: %w", errInvalid)
	}
	b.storeMu.Lock()
	defer b.storeMu.Unlock()
	t, err := b.findTemplate(ref)
	if err != nil {
		return err
	}
	if err := b.forgetLocked(t, writeJSONSync); err != nil {
		return err
	}
	b.gcTemplatesLocked()
	return nil
}

// forgetLocked drops a template's name and reference id.
func (b *Backend) forgetLocked(t *templateMeta, write func(string, any) error) error {
	t.Name, t.TeamID, t.RefTemplateID = "", "", ""
	return write(filepath.Join(b.templateDir(t.ID), "meta.json"), t)
}

// storeTemplate publishes a complete template directory built in tmp/
// (meta.json written by this call) and takes the name and reference id
// from any older template that had them.
func (b *Backend) storeTemplate(tmpDir string, t *templateMeta) error {
	t.Link = newLink()
	// a marked template is durable with the syncer's syncfs, and so is
	// the name taken from an older one: a crash that loses either drops
	// the new template too (its marker is of another boot by then)
	write := writeJSONSync
	if marked, _ := b.markedBy(tmpDir); marked {
		write = writeJSON
	}
	if err := write(filepath.Join(tmpDir, "meta.json"), t); err != nil {
		return err
	}
	b.storeMu.Lock()
	defer b.storeMu.Unlock()
	all, err := b.allTemplates()
	if err != nil {
		return err
	}
	if err := b.publish(tmpDir, b.templateDir(t.ID), t.Link, "rootfs"); err != nil {
		return err
	}
	for _, old := range all {
		sameName := t.Name != "" && old.Name == t.Name && old.TeamID == t.TeamID
		sameRef := t.RefTemplateID != "" && old.RefTemplateID == t.RefTemplateID
		if sameName || sameRef {
			if err := b.forgetLocked(old, write); err != nil {
				return err
			}
		}
	}
	b.gcTemplatesLocked()
	return nil
}

// gcTemplatesLocked removes forgotten templates nothing sits on.
func (b *Backend) gcTemplatesLocked() {
	for b.gcTemplatesOnce() {
	}
}

// gcTemplatesOnce removes what is unused now and reports whether it removed
// anything (which may free the template below).
func (b *Backend) gcTemplatesOnce() bool {
	removed := false
	all, err := b.allTemplates()
	if err != nil {
		return false
	}
	layers, err := b.allLayers()
	if err != nil {
		return false
	}
	used := map[string]bool{}
	for _, l := range layers {
		if l.Parent == "" && l.Template != "" {
			used[l.Template] = true
		}
	}
	for _, t := range all {
		if t.ParentTemplate != "" {
			used[t.ParentTemplate] = true
		}
	}
	for _, t := range all {
		if t.Name != "" || t.RefTemplateID != "" || used[t.ID] || b.inUse("template", t.ID) {
			continue
		}
		b.log.Info("removing forgotten template", "template", t.ID)
		_ = os.Remove(filepath.Join(b.linksDir(), t.Link))
		_ = b.removeTree(b.templateDir(t.ID))
		removed = true
	}
	return removed
}

// chainDigest identifies the content of a whole chain: a template's digest
// already does; a layer's combines its parent chain's with its own.
func (b *Backend) chainDigest(chain []lowerEntry) (string, error) {
	d := ""
	for i := len(chain) - 1; i >= 0; i-- {
		e := chain[i]
		if e.kind == "template" {
			t, err := b.readTemplate(e.id)
			if err != nil {
				return "", err
			}
			d = t.Digest
			continue
		}
		l, err := b.readLayerDigested(e.id)
		if err != nil {
			return "", err
		}
		d = combineDigests("layer", d, l.Digest)
	}
	return d, nil
}

// combineDigests is sha256 of a versioned, newline-separated preimage.
func combineDigests(kind, parent, own string) string {
	h := sha256.Sum256([]byte("wrenn-chain-v1\n" + kind + "\n" + parent + "\n" + own + "\n"))
	return fmt.Sprintf("sha256:%x", h)
}
