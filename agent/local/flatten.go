package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"wrenn.dev/wrenn/agent"
)

// FlattenRootfs merges the sandbox's chain into one base template (a copy
// of the merged view, so overlay has already applied every whiteout) and
// writes an ext4 image of it with mkfs.ext4 -d, returning the image's size.
// Ends the sandbox.
func (b *Backend) FlattenRootfs(ctx context.Context, id string, ref agent.TemplateRef) (int64, error) {
	if err := checkRef(ref); err != nil {
		return 0, err
	}
	sb, err := b.endSandbox(id)
	if err != nil {
		return 0, err
	}
	defer b.finishSandbox(sb)
	if err := b.stopContainer(sb); err != nil {
		return 0, err
	}
	t := &templateMeta{
		ID: newTemplateID(), Name: ref.Name, TeamID: ref.TeamID, RefTemplateID: ref.TemplateID,
		Type: "base", Created: time.Now().UTC(), Image: "rootfs.ext4",
	}
	tmp := filepath.Join(b.tmpDir(), t.ID)
	rootfs := filepath.Join(tmp, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return 0, err
	}
	fail := func(err error) (int64, error) {
		os.RemoveAll(tmp)
		return 0, fmt.Errorf("flatten %s: %w", id, err)
	}
	// cp -a keeps owners, modes, hardlinks, xattrs, devices and times
	if out, err := exec.CommandContext(ctx, "cp", "-a", "--", sb.merged()+"/.", rootfs+"/").CombinedOutput(); err != nil {
		return fail(fmt.Errorf("copy rootfs: %v: %s", err, strings.TrimSpace(string(out))))
	}
	st, err := digestTree(rootfs)
	if err != nil {
		return fail(err)
	}
	t.Digest, t.Size = st.Digest, st.Size
	img := filepath.Join(tmp, t.Image)
	size, err := makeExt4(ctx, rootfs, img, st)
	if err != nil {
		return fail(err)
	}
	if err := b.storeTemplate(tmp, t); err != nil {
		return fail(err)
	}
	return size, nil
}

// makeExt4 writes an ext4 image of dir, sized from its content with a
// margin (and doubled until mkfs.ext4 fits it).
func makeExt4(ctx context.Context, dir, img string, st treeStats) (int64, error) {
	inodes := st.Files + st.Files/5 + 1024
	size := st.Size + st.Size/5 + inodes*256 + 32<<20
	for attempt := 0; attempt < 4; attempt++ {
		size = (size + 4095) &^ 4095
		_ = os.Remove(img)
		cmd := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-b", "4096", "-m", "0",
			"-N", strconv.FormatInt(inodes, 10), "-E", "root_owner=0:0", "-L", "wrenn-rootfs",
			"-d", dir, img, strconv.FormatInt(size/1024, 10)+"k")
		out, err := cmd.CombinedOutput()
		if err == nil {
			fi, err := os.Stat(img)
			if err != nil {
				return 0, err
			}
			return fi.Size(), nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		msg := string(out)
		if !strings.Contains(msg, "No space") && !strings.Contains(msg, "Could not allocate") && !strings.Contains(msg, "too small") {
			return 0, fmt.Errorf("mkfs.ext4: %v: %s", err, strings.TrimSpace(msg))
		}
		size *= 2
		inodes *= 2
	}
	return 0, fmt.Errorf("mkfs.ext4: %s does not fit in %d bytes", dir, size)
}
