package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// recover removes what a previous run on this root left behind when it
// crashed: runc or crun containers (their processes die), overlay mounts,
// cgroups, sandbox directories and half-written things in tmp/. It then
// repairs the short links of complete layers and templates and collects
// templates that were deleted while still in use.
func (b *Backend) recover() error {
	var errs []error
	ids, err := b.listContainers()
	if err != nil {
		errs = append(errs, err)
	}
	for _, id := range ids {
		if err := b.deleteContainer(id); err != nil {
			errs = append(errs, err)
		}
	}
	mounts, err := mountsUnder(b.root)
	if err != nil {
		errs = append(errs, err)
	}
	for _, mp := range mounts {
		if err := unmount(mp); err != nil {
			errs = append(errs, err)
		}
	}
	b.removeCgroupParent()
	// the state of containers another runtime made (this root was used
	// with --runtime crun before, and now runc, or the other way round):
	// their processes were in the cgroups just removed
	for _, name := range Runtimes {
		if name != b.rt.name {
			if err := os.RemoveAll(filepath.Join(b.root, name)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, dir := range []string{b.sandboxesDir(), b.tmpDir()} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range ents {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// a layer or template directory without metadata never completed
	for i, dir := range []string{b.layersDir(), b.templatesDir()} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			// (a layer's metadata is not fsynced: a crash may also leave
			// it empty, and then its unsynced marker says the same)
			p := filepath.Join(dir, e.Name(), "meta.json")
			// the typed read fills the meta cache for the passes below
			var typed any = &layerMeta{}
			if i == 1 {
				typed = &templateMeta{}
			}
			if b.readMeta(p, typed) == nil {
				continue
			}
			var meta map[string]any
			if err := readJSON(p, &meta); errors.Is(err, os.ErrNotExist) || err != nil && !errors.Is(err, os.ErrPermission) {
				_ = b.removeTree(filepath.Join(dir, e.Name()))
			}
		}
	}
	b.dropUnsynced()
	if err := b.repairLinks(); err != nil {
		errs = append(errs, err)
	}
	b.storeMu.Lock()
	b.gcTemplatesLocked()
	b.storeMu.Unlock()
	return errors.Join(errs...)
}

// repairLinks makes every layer's and template's short link and removes
// links to nothing.
func (b *Backend) repairLinks() error {
	want := map[string]bool{}
	layers, err := b.allLayers()
	if err != nil {
		return err
	}
	for _, m := range layers {
		want[m.Link] = true
		if err := b.makeLink(m.Link, b.layerDir(m.ID), "diff"); err != nil {
			return err
		}
	}
	templates, err := b.allTemplates()
	if err != nil {
		return err
	}
	for _, t := range templates {
		want[t.Link] = true
		if err := b.makeLink(t.Link, b.templateDir(t.ID), "rootfs"); err != nil {
			return err
		}
	}
	ents, _ := os.ReadDir(b.linksDir())
	for _, e := range ents {
		if !want[e.Name()] && !strings.HasSuffix(e.Name(), ".tmp") {
			_ = os.Remove(filepath.Join(b.linksDir(), e.Name()))
		}
	}
	return nil
}
