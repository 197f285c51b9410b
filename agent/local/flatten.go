package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"wrenn.dev/wrenn/agent"
)

// flattenCopyDepth is the chain length from which FlattenRootfs copies the
// merged rootfs into a new base instead of recording the chain, so that
// templates built FROM flattened templates stay far from overlayfs's
// 500-directory limit. (A variable for tests.)
var flattenCopyDepth = 128

// FlattenRootfs stores the sandbox as a base template (type "base", no
// START commands, nothing in memory) and ends the sandbox. Like a
// snapshot, it is recorded as the sandbox's upper directory on top of its
// chain: O(1) in the rootfs size (only the last diff is digested), where
// the production agent writes an ext4 image for a VM; this backend runs
// containers on overlay and needs none (`wrenn build -o rootfs.ext4`
// makes one from an export). A sandbox on a chain of flattenCopyDepth
// directories or more is copied into a standalone base instead. Returns
// the template's size: the content of its whole chain.
func (b *Backend) FlattenRootfs(ctx context.Context, id string, ref agent.TemplateRef) (int64, error) {
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
		Type: "base", Created: time.Now().UTC(),
	}
	if len(sb.chain) < flattenCopyDepth {
		if err := b.storeOnChain(sb, t); err != nil {
			return 0, fmt.Errorf("flatten %s: %w", id, err)
		}
		return t.Size, nil
	}
	if err := b.copyRootfs(ctx, sb, t); err != nil {
		return 0, fmt.Errorf("flatten %s: %w", id, err)
	}
	return t.Size, nil
}

// copyRootfs stores t as a standalone base holding a copy of the
// sandbox's merged view (overlay has applied every whiteout).
func (b *Backend) copyRootfs(ctx context.Context, sb *sandbox, t *templateMeta) error {
	if err := b.stopContainer(sb); err != nil {
		return err
	}
	tmp := filepath.Join(b.tmpDir(), t.ID)
	rootfs := filepath.Join(tmp, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return err
	}
	// cp -a keeps owners, modes, hardlinks, xattrs, devices and times
	if out, err := exec.CommandContext(ctx, "cp", "-a", "--", sb.merged()+"/.", rootfs+"/").CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("copy rootfs: %v: %s", err, strings.TrimSpace(string(out)))
	}
	st, err := digestTree(rootfs)
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	t.Digest, t.Size = st.Digest, st.Size
	if err := b.sync.now(); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := b.storeTemplate(tmp, t); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}
