package local

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func (b *Backend) templatesDir() string { return filepath.Join(b.root, "templates") }
func (b *Backend) layersDir() string    { return filepath.Join(b.root, "layers") }
func (b *Backend) linksDir() string     { return filepath.Join(b.root, "l") }
func (b *Backend) sandboxesDir() string { return filepath.Join(b.root, "sandboxes") }
func (b *Backend) runtimeRoot() string  { return filepath.Join(b.root, b.rt.name) }
func (b *Backend) tmpDir() string       { return filepath.Join(b.root, "tmp") }

func (b *Backend) layerDir(id string) string    { return filepath.Join(b.layersDir(), id) }
func (b *Backend) templateDir(id string) string { return filepath.Join(b.templatesDir(), id) }

// layerMeta is layers/<id>/meta.json. The layer's files are in diff/.
type layerMeta struct {
	ID       string    `json:"id"`
	Parent   string    `json:"parent,omitempty"`   // layer below, or ""
	Template string    `json:"template,omitempty"` // template below when Parent is ""
	Digest   string    `json:"digest"`
	Size     int64     `json:"size"`
	Depth    int       `json:"depth"`
	Created  time.Time `json:"created"`
	Link     string    `json:"link"` // l/<Link> -> ../layers/<id>/diff
}

// templateMeta is templates/<id>/meta.json. An imported or bootstrapped
// base's rootfs/ is a whole tree; a snapshot's, or a flattened base's
// (onChain), is its own diff on top of ParentLayer (or ParentTemplate).
type templateMeta struct {
	ID             string      `json:"id"`
	Name           string      `json:"name,omitempty"` // "" once replaced or deleted
	TeamID         string      `json:"team_id,omitempty"`
	RefTemplateID  string      `json:"ref_template_id,omitempty"`
	Type           string      `json:"type"` // "base" or "snapshot"
	Digest         string      `json:"digest"`
	Size           int64       `json:"size"`
	Created        time.Time   `json:"created"`
	Link           string      `json:"link"`
	ParentLayer    string      `json:"parent_layer,omitempty"`
	ParentTemplate string      `json:"parent_template,omitempty"`
	Start          []startSpec `json:"start,omitempty"` // run again on create
}

// onChain reports whether the template's rootfs/ is a diff on a chain.
func (t *templateMeta) onChain() bool { return t.ParentLayer != "" || t.ParentTemplate != "" }

// startSpec is a recorded START command line.
type startSpec struct {
	Cmd  string   `json:"cmd"`
	Args []string `json:"args,omitempty"`
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		panic(err)
	}
	return hex.EncodeToString(buf)
}

var linkEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newLink returns a short name for l/: 10 characters keep a 300-layer
// lowerdir within one page.
func newLink() string {
	buf := make([]byte, 7)
	if _, err := rand.Read(buf); err != nil {
		panic(err)
	}
	return linkEncoding.EncodeToString(buf)[:10]
}

func newLayerID() string    { return "lay-" + randomHex(10) }
func newTemplateID() string { return "tpl-" + randomHex(10) }

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}

// validID reports whether id is safe as a file name and a map key: the same
// alphabet the server accepts.
func validID(id string) bool {
	if id == "" || len(id) > 128 || id == "." || id == ".." {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':'
		if !ok {
			return false
		}
	}
	return true
}

// writeJSON writes v to path through a temporary file and a rename, with
// no fsync: for what an unsynced marker covers until the syncer's syncfs.
// A reader sees the old file or the new one; two writers at once each
// use their own temporary file.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + "." + randomHex(4) + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// writeJSONSync writes v to path durably: a temporary file, fsync, rename,
// fsync of the directory.
func writeJSONSync(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// publish renames a complete directory from tmp/ into place and makes its
// short link. The link is recreated by recover() if a crash falls between.
func (b *Backend) publish(tmpDir, finalDir, link, contentDir string) error {
	if err := os.Rename(tmpDir, finalDir); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(finalDir, unsyncedMarker)); err != nil {
		// durable now; a marked layer becomes durable with the syncer's
		// syncfs
		if err := syncDir(filepath.Dir(finalDir)); err != nil {
			return err
		}
	}
	return b.makeLink(link, finalDir, contentDir)
}

// makeLink points l/<link> at finalDir/contentDir with a relative target.
func (b *Backend) makeLink(link, finalDir, contentDir string) error {
	rel, err := filepath.Rel(b.linksDir(), filepath.Join(finalDir, contentDir))
	if err != nil {
		return err
	}
	p := filepath.Join(b.linksDir(), link)
	if cur, err := os.Readlink(p); err == nil && cur == rel {
		return nil
	}
	_ = os.Remove(p)
	return os.Symlink(rel, p)
}

// removeTree makes dir disappear atomically (rename into tmp/) and then
// deletes it.
func (b *Backend) removeTree(dir string) error {
	trash := filepath.Join(b.tmpDir(), "rm-"+randomHex(6))
	if err := os.Rename(dir, trash); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	return os.RemoveAll(trash)
}

func (b *Backend) readLayer(id string) (*layerMeta, error) {
	if !validID(id) || strings.ContainsRune(id, '/') {
		return nil, fmt.Errorf("layer %q: %w", id, errNotFound)
	}
	var m layerMeta
	if err := b.readMeta(filepath.Join(b.layerDir(id), "meta.json"), &m); err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("layer %q: %w", id, errNotFound)
		}
		return nil, err
	}
	return &m, nil
}

func (b *Backend) readTemplate(id string) (*templateMeta, error) {
	if !validID(id) {
		return nil, fmt.Errorf("template %q: %w", id, errNotFound)
	}
	var m templateMeta
	if err := b.readMeta(filepath.Join(b.templateDir(id), "meta.json"), &m); err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("template %q: %w", id, errNotFound)
		}
		return nil, err
	}
	return &m, nil
}

func (b *Backend) allLayers() ([]*layerMeta, error) {
	ents, err := os.ReadDir(b.layersDir())
	if err != nil {
		return nil, err
	}
	var out []*layerMeta
	for _, e := range ents {
		m, err := b.readLayer(e.Name())
		if err != nil {
			continue // half-removed; recover() deals with it
		}
		out = append(out, m)
	}
	return out, nil
}

func (b *Backend) allTemplates() ([]*templateMeta, error) {
	ents, err := os.ReadDir(b.templatesDir())
	if err != nil {
		return nil, err
	}
	var out []*templateMeta
	for _, e := range ents {
		m, err := b.readTemplate(e.Name())
		if err != nil {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}
