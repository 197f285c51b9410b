package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"wrenn.dev/wrenn/agent"
)

// checkRef validates the name a result is stored under.
func checkRef(ref agent.TemplateRef) error {
	if ref.Name == "" && ref.TemplateID == "" {
		return fmt.Errorf("a template name or template_id is required: %w", errInvalid)
	}
	for _, s := range []string{ref.Name, ref.TeamID, ref.TemplateID} {
		if s != "" && !validID(s) {
			return fmt.Errorf("template reference %q: use letters, digits and - _ . : : %w", s, errInvalid)
		}
	}
	return nil
}

// endSandbox takes the sandbox exclusively for a snapshot or flatten;
// finishSandbox then removes it, whether the result was stored or not.
func (b *Backend) endSandbox(id string) (*sandbox, error) {
	return b.exclusive(id)
}

// finishSandbox removes the sandbox after a snapshot or flatten.
func (b *Backend) finishSandbox(sb *sandbox) {
	b.mu.Lock()
	if b.sandboxes[sb.id] == sb {
		delete(b.sandboxes, sb.id)
	}
	b.mu.Unlock()
	if sb.timer != nil {
		sb.timer.Stop()
	}
	_ = b.teardown(sb)
	sb.mu.Unlock()
	b.storeMu.Lock()
	b.gcTemplatesLocked()
	b.storeMu.Unlock()
}

// CreateSnapshot stores the sandbox as a template: its upper directory
// becomes the template's own diff (a rename) on top of the sandbox's chain,
// and the START commands it ran are recorded to be run again in sandboxes
// created from it (this backend keeps no memory state). Ends the sandbox.
func (b *Backend) CreateSnapshot(ctx context.Context, id string, ref agent.TemplateRef) (int64, error) {
	if err := checkRef(ref); err != nil {
		return 0, err
	}
	sb, err := b.endSandbox(id)
	if err != nil {
		return 0, err
	}
	defer b.finishSandbox(sb)
	t := &templateMeta{
		ID: newTemplateID(), Name: ref.Name, TeamID: ref.TeamID, RefTemplateID: ref.TemplateID,
		Type: "snapshot", Created: time.Now().UTC(),
	}
	sb.startMu.Lock()
	t.Start = append([]startSpec(nil), sb.starts...)
	sb.startMu.Unlock()
	if err := b.storeOnChain(sb, t); err != nil {
		return 0, err
	}
	return t.Size, nil
}

// storeOnChain stores t as the sandbox's upper directory (renamed, O(1) in
// the rootfs size) on top of the sandbox's chain: t's digest combines the
// chain's with the diff's, and its size counts the whole chain. The
// sandbox is detached first and unusable after. Like a layer, t is
// published with an unsynced marker and synced in the background.
func (b *Backend) storeOnChain(sb *sandbox, t *templateMeta) error {
	if err := b.detach(sb, false); err != nil {
		return err
	}
	t.ParentLayer, t.ParentTemplate = sb.on.layer, sb.on.template
	tmp := filepath.Join(b.tmpDir(), t.ID)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	if err := os.Rename(sb.upper(), filepath.Join(tmp, "rootfs")); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	st, err := digestTree(filepath.Join(tmp, "rootfs"))
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	parent, err := b.chainDigest(sb.chain)
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	kind := t.Type
	if kind == "base" {
		kind = "flatten"
	}
	t.Digest = combineDigests(kind, parent, st.Digest)
	t.Size = st.Size
	for _, e := range sb.chain {
		t.Size += b.entrySize(e)
	}
	// published unsynced, as a layer is: the syncer makes it durable
	if err := b.writeMarker(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := b.storeTemplate(tmp, t); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	b.sync.add(b.templateDir(t.ID))
	return nil
}

// entrySize is the stored size of one chain directory.
func (b *Backend) entrySize(e lowerEntry) int64 {
	if e.kind == "layer" {
		if m, err := b.readLayerDigested(e.id); err == nil {
			return m.Size
		}
		return 0
	}
	if t, err := b.readTemplate(e.id); err == nil && !t.onChain() {
		return t.Size
	}
	return 0 // a template on a chain already counts its chain
}
