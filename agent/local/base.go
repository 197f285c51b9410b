package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"wrenn.dev/wrenn/agent"
)

// ImportBase makes a base template named name from a rootfs tarball (tar or
// tar.gz). Entries that would land outside the rootfs (absolute names,
// "..", hard links out) are rejected with the entry named; symlinks may
// point anywhere, as in any rootfs, but are resolved inside it while
// extracting. A template with the same name is replaced.
func (b *Backend) ImportBase(ctx context.Context, name, tarball string) (agent.TemplateInfo, error) {
	f, err := os.Open(tarball)
	if err != nil {
		return agent.TemplateInfo{}, fmt.Errorf("import base: %w", err)
	}
	defer f.Close()
	return b.importBaseFrom(ctx, name, tarball, f)
}

func (b *Backend) importBaseFrom(ctx context.Context, name, what string, r io.Reader) (agent.TemplateInfo, error) {
	return b.buildBase(ctx, name, func(rootfs string) error {
		zr, err := maybeGunzip(r)
		if err != nil {
			return err
		}
		if err := extractTar(ctx, zr, rootfs, false); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// buildBase runs fill on an empty rootfs directory under tmp/, then
// digests it and publishes it as the base template name.
func (b *Backend) buildBase(ctx context.Context, name string, fill func(rootfs string) error) (agent.TemplateInfo, error) {
	if err := checkRef(agent.TemplateRef{Name: name}); err != nil || name == "" {
		return agent.TemplateInfo{}, fmt.Errorf("base name %q: use letters, digits and - _ . : : %w", name, errInvalid)
	}
	t := &templateMeta{ID: newTemplateID(), Name: name, Type: "base", Created: time.Now().UTC()}
	tmp := filepath.Join(b.tmpDir(), t.ID)
	rootfs := filepath.Join(tmp, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return agent.TemplateInfo{}, err
	}
	fail := func(err error) (agent.TemplateInfo, error) {
		os.RemoveAll(tmp)
		return agent.TemplateInfo{}, fmt.Errorf("base %s: %w", name, err)
	}
	if err := fill(rootfs); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	st, err := digestTree(rootfs)
	if err != nil {
		return fail(err)
	}
	t.Digest, t.Size = st.Digest, st.Size
	if err := b.sync.now(); err != nil { // the files before the metadata
		return fail(err)
	}
	if err := b.storeTemplate(tmp, t); err != nil {
		return fail(err)
	}
	return templateInfo(t), nil
}
