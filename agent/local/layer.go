package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"wrenn.dev/wrenn/agent"
)

// CommitLayer turns the sandbox's upper directory into a layer by renaming
// it: O(1) in the rootfs size (the digest walk is O(size of the change)).
// The overlay is then mounted again with a fresh upper on top of the new
// layer. A long-lived container (after START) is stopped, so background
// processes end at a commit. The layer's files reach the disk in the
// background (see unsyncedMarker).
func (b *Backend) CommitLayer(ctx context.Context, id string) (agent.LayerInfo, error) {
	return b.commitLayer(ctx, id, false)
}

// commitLayer is CommitLayer; deferred hashes the layer after answering
// (deferred.go).
func (b *Backend) commitLayer(ctx context.Context, id string, deferred bool) (agent.LayerInfo, error) {
	sb, err := b.exclusive(id)
	if err != nil {
		return agent.LayerInfo{}, err
	}
	defer sb.mu.Unlock()
	if err := b.detach(sb, false); err != nil {
		return agent.LayerInfo{}, err
	}
	m := &layerMeta{
		ID:      newLayerID(),
		Parent:  sb.on.layer,
		Depth:   layerDepth(sb.chain) + 1,
		Created: time.Now().UTC(),
		Link:    newLink(),
	}
	if m.Parent == "" {
		m.Template = sb.on.template
	}
	tmp := filepath.Join(b.tmpDir(), m.ID)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return agent.LayerInfo{}, b.reattach(sb, err)
	}
	if err := os.Rename(sb.upper(), filepath.Join(tmp, "diff")); err != nil {
		os.RemoveAll(tmp)
		return agent.LayerInfo{}, b.reattach(sb, err)
	}
	var job *digestJob // a deferred commit's, registered before publishing
	undo := func(err error) (agent.LayerInfo, error) {
		if job != nil {
			b.dropDigest(m.ID, job)
		}
		_ = os.Rename(filepath.Join(tmp, "diff"), sb.upper())
		os.RemoveAll(tmp)
		return agent.LayerInfo{}, b.reattach(sb, err)
	}
	if deferred {
		job = b.startDigest(m)
	} else {
		st, err := digestTree(filepath.Join(tmp, "diff"))
		if err != nil {
			return undo(err)
		}
		m.Digest, m.Size = st.Digest, st.Size
	}
	if err := b.writeLayerMeta(tmp, m); err != nil {
		return undo(err)
	}
	b.storeMu.Lock()
	err = b.publish(tmp, b.layerDir(m.ID), m.Link, "diff")
	b.storeMu.Unlock()
	if err != nil {
		return undo(err)
	}
	if job != nil {
		go b.runDigest(*m, job)
	}
	b.sync.add(b.layerDir(m.ID))
	b.mu.Lock()
	sb.on = on{layer: m.ID}
	sb.chain = append([]lowerEntry{{kind: "layer", id: m.ID, link: m.Link}}, sb.chain...)
	sb.info.Layer = m.ID
	b.mu.Unlock()
	if err := b.reattach(sb, nil); err != nil {
		return agent.LayerInfo{}, err
	}
	info := b.layerInfo(m, sb.chain)
	if job != nil {
		select {
		case <-job.done: // a small layer is hashed by now: no need to defer
			if job.err == nil {
				info.Digest, info.SizeBytes = job.st.Digest, job.st.Size
			}
		default:
		}
	}
	return info, nil
}

// detach stops the container, if one runs, and unmounts the overlay, so
// the upper directory can be renamed into a layer or template; flush also
// writes everything back to disk first (for a template).
func (b *Backend) detach(sb *sandbox, flush bool) error {
	if err := b.stopContainer(sb); err != nil {
		return err
	}
	if err := unmount(sb.merged()); err != nil {
		return err
	}
	if flush {
		return b.sync.now()
	}
	return nil
}

// writeLayerMeta writes a layer's meta.json in its directory under tmp/,
// with the marker that its files may not be on disk yet. Nothing is
// fsynced: the marker is created first, and the filesystem's journal keeps
// metadata operations in order, so whenever the layer's directory survives
// a crash its marker does too (and New drops the layer), until the
// syncer's syncfs has made everything durable and removed the marker.
func (b *Backend) writeLayerMeta(tmp string, m *layerMeta) error {
	if err := b.writeMarker(tmp); err != nil {
		return err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(tmp, "meta.json"), append(data, '\n'), 0o600)
}

// reattach mounts the sandbox again over its chain with an empty work dir
// (and a fresh upper if the old one became a layer), returning cause, or
// the remount's error.
func (b *Backend) reattach(sb *sandbox, cause error) error {
	if err := os.RemoveAll(sb.work()); err != nil {
		return joinErr(cause, err)
	}
	for _, d := range []string{sb.upper(), sb.work()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return joinErr(cause, err)
		}
	}
	if err := b.mountOverlay(sb.chain, sb.upper(), sb.work(), sb.merged()); err != nil {
		return joinErr(cause, fmt.Errorf("sandbox %s is unusable: %w", sb.id, err))
	}
	return cause
}

func joinErr(cause, err error) error {
	if cause == nil {
		return err
	}
	return fmt.Errorf("%w (and then: %v)", cause, err)
}

// layerInfo reports a layer; chain is its chain (for the bottom template).
func (b *Backend) layerInfo(m *layerMeta, chain []lowerEntry) agent.LayerInfo {
	tmpl := m.Template
	if chain != nil {
		tmpl = baseTemplate(chain)
	}
	return agent.LayerInfo{
		ID: m.ID, Parent: m.Parent, Template: tmpl, Digest: m.Digest,
		SizeBytes: m.Size, Depth: m.Depth, Created: m.Created,
	}
}

// Layer reports a layer's digest and size.
func (b *Backend) Layer(ctx context.Context, layerID string) (agent.LayerInfo, error) {
	m, err := b.readLayerDigested(layerID)
	if err != nil {
		return agent.LayerInfo{}, err
	}
	chain, err := b.chain(on{layer: m.ID})
	if err != nil {
		return agent.LayerInfo{}, err
	}
	return b.layerInfo(m, chain), nil
}

// ListLayers lists every layer, oldest first.
func (b *Backend) ListLayers(ctx context.Context) ([]agent.LayerInfo, error) {
	all, err := b.allLayers()
	if err != nil {
		return nil, err
	}
	out := make([]agent.LayerInfo, 0, len(all))
	for _, m := range all {
		if err := b.withDigest(m); err != nil {
			continue // removed meanwhile
		}
		chain, err := b.chain(on{layer: m.ID})
		if err != nil {
			chain = nil
		}
		out = append(out, b.layerInfo(m, chain))
	}
	slices.SortFunc(out, func(a, c agent.LayerInfo) int {
		if d := a.Created.Compare(c.Created); d != 0 {
			return d
		}
		return strings.Compare(a.ID, c.ID)
	})
	return out, nil
}

// DeleteLayer removes a layer nothing sits on.
func (b *Backend) DeleteLayer(ctx context.Context, layerID string) error {
	// a digest being computed is waited for (outside storeMu), so its job
	// never writes into a removed layer
	if _, err := b.readLayerDigested(layerID); err != nil {
		return err
	}
	b.storeMu.Lock()
	defer b.storeMu.Unlock()
	m, err := b.readLayer(layerID)
	if err != nil {
		return err
	}
	layers, err := b.allLayers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		if l.Parent == m.ID {
			return fmt.Errorf("layer %s: layer %s sits on it: %w", m.ID, l.ID, errInUse)
		}
	}
	templates, err := b.allTemplates()
	if err != nil {
		return err
	}
	for _, t := range templates {
		if t.ParentLayer == m.ID {
			return fmt.Errorf("layer %s: template %s sits on it: %w", m.ID, t.ID, errInUse)
		}
	}
	if b.inUse("layer", m.ID) {
		return fmt.Errorf("layer %s: a sandbox uses it: %w", m.ID, errInUse)
	}
	_ = os.Remove(filepath.Join(b.linksDir(), m.Link))
	if err := b.removeTree(b.layerDir(m.ID)); err != nil {
		return err
	}
	b.gcTemplatesLocked()
	return nil
}

// ExportLayer writes the layer's own diff as a tar stream, whiteouts in
// their OCI form (.wh.<name>, .wh..wh..opq).
func (b *Backend) ExportLayer(ctx context.Context, layerID string, w io.Writer) error {
	m, err := b.readLayer(layerID)
	if err != nil {
		return err
	}
	_, err = writeTree(filepath.Join(b.layerDir(m.ID), "diff"), w, false)
	return err
}

// ImportLayer reads a tar written by ExportLayer into a new layer on top of
// parent: a layer id, a template (id or name), or "" for a layer that is a
// whole rootfs. A non-empty digest must match the imported content.
func (b *Backend) ImportLayer(ctx context.Context, parent, digest string, r io.Reader) (agent.LayerInfo, error) {
	m := &layerMeta{ID: newLayerID(), Created: time.Now().UTC(), Depth: 1}
	var chain []lowerEntry
	if parent != "" {
		o := on{}
		if l, err := b.readLayer(parent); err == nil {
			o.layer, m.Parent = l.ID, l.ID
		} else if t, err := b.findTemplate(agent.TemplateRef{TemplateID: parent, Name: parent}); err == nil {
			o.template, m.Template = t.ID, t.ID
		} else {
			return agent.LayerInfo{}, fmt.Errorf("import layer: parent %q: %w", parent, errNotFound)
		}
		var err error
		if chain, err = b.chain(o); err != nil {
			return agent.LayerInfo{}, err
		}
		m.Depth = layerDepth(chain) + 1
	}
	tmp := filepath.Join(b.tmpDir(), m.ID)
	diff := filepath.Join(tmp, "diff")
	if err := os.MkdirAll(diff, 0o755); err != nil {
		return agent.LayerInfo{}, err
	}
	fail := func(err error) (agent.LayerInfo, error) {
		os.RemoveAll(tmp)
		return agent.LayerInfo{}, fmt.Errorf("import layer: %w", err)
	}
	if err := extractTar(ctx, r, diff, true); err != nil {
		return fail(err)
	}
	st, err := digestTree(diff)
	if err != nil {
		return fail(err)
	}
	if digest != "" && digest != st.Digest {
		return fail(fmt.Errorf("content digest %s does not match %s: %w", st.Digest, digest, errInvalid))
	}
	m.Digest, m.Size, m.Link = st.Digest, st.Size, newLink()
	if err := b.writeLayerMeta(tmp, m); err != nil {
		return fail(err)
	}
	b.storeMu.Lock()
	err = b.publish(tmp, b.layerDir(m.ID), m.Link, "diff")
	b.storeMu.Unlock()
	if err != nil {
		return fail(err)
	}
	b.sync.add(b.layerDir(m.ID))
	return b.layerInfo(m, append([]lowerEntry{{kind: "layer", id: m.ID, link: m.Link}}, chain...)), nil
}
