package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
)

// An export directory holds manifest.json and one blob per layer under
// blobs/sha256/<hex>, named by the digest of its bytes (the agent's
// ExportLayer stream), so import can prove every blob is what was written.
const (
	manifestName   = "manifest.json"
	manifestFormat = 1
)

// Manifest is manifest.json.
type Manifest struct {
	Format  int       `json:"format"`
	Agent   string    `json:"agent"`
	Created time.Time `json:"created"`
	// Layers in dependency order: a layer's parent comes before it.
	Layers  []ManifestLayer `json:"layers"`
	Records []Record        `json:"records"`
	Refs    []Ref           `json:"refs"`
}

// ManifestLayer is one exported agent layer.
type ManifestLayer struct {
	LayerInfo
	Blob string `json:"blob"` // digest of the blob file
	// Base names the base template a layer without a parent sits on, and
	// its digest: the importing agent must have the same base.
	Base *TemplateInfo `json:"base,omitempty"`
}

// TransferResult counts what Export or Import moved.
type TransferResult struct {
	Layers  int   `json:"layers"`
	Records int   `json:"records"`
	Refs    int   `json:"refs"`
	Bytes   int64 `json:"bytes"`
	// Skipped counts records left out: whole-template snapshots (not
	// movable as layers) and, on import, layers the agent already had.
	Skipped int `json:"skipped"`
	// Warnings say what an import could not bring over, and why.
	Warnings []string `json:"warnings,omitempty"`
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// Export writes the records of this agent's layers, the refs, and every
// layer they need (ancestors included) to dir.
func Export(ctx context.Context, s Store, agent AgentLayers, dir string) (*TransferResult, error) {
	agentID, err := agent.Identity(ctx)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, err
	}
	m := Manifest{Format: manifestFormat, Agent: agentID, Created: time.Now().UTC(), Layers: []ManifestLayer{}, Records: []Record{}}
	res := &TransferResult{}
	err = s.Records(ctx, true, func(r Record) error {
		if r.Snapshot.Kind == KindSnapshot || (r.Snapshot.Agent != "" && r.Snapshot.Agent != agentID) {
			res.Skipped++
			return nil
		}
		m.Records = append(m.Records, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The layers the records need, and their ancestors on the agent.
	infos := map[string]LayerInfo{}
	var need func(id string) error
	need = func(id string) error {
		if id == "" {
			return nil
		}
		if _, ok := infos[id]; ok {
			return nil
		}
		l, err := agent.GetLayer(ctx, id)
		if err != nil {
			return fmt.Errorf("agent: layer %s: %w (run 'wrenn cache verify --repair' to drop records of lost layers)", id, err)
		}
		infos[id] = l
		return need(l.Parent)
	}
	for _, r := range m.Records {
		if err := need(r.Snapshot.ID); err != nil {
			return nil, err
		}
	}
	bases := map[string]*TemplateInfo{}
	for _, l := range orderParentsFirst(infos) {
		ml := ManifestLayer{LayerInfo: l}
		if l.Parent == "" && l.Template != "" {
			if bases[l.Template] == nil {
				t, err := agent.GetTemplate(ctx, l.Template, "")
				if err != nil {
					return nil, fmt.Errorf("agent: base template %s of layer %s: %w", l.Template, l.ID, err)
				}
				bases[l.Template] = &t
			}
			ml.Base = bases[l.Template]
		}
		blob, n, err := exportBlob(ctx, agent, l.ID, dir)
		if err != nil {
			return nil, err
		}
		ml.Blob = blob.String()
		m.Layers = append(m.Layers, ml)
		res.Layers++
		res.Bytes += n
	}
	if m.Refs, err = s.Refs(ctx); err != nil {
		return nil, err
	}
	if m.Refs == nil {
		m.Refs = []Ref{}
	}
	res.Records, res.Refs = len(m.Records), len(m.Refs)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return res, writeFileAtomic(filepath.Join(dir, manifestName), append(b, '\n'))
}

// exportBlob streams one layer into a temporary file while hashing it,
// then renames it to its digest.
func exportBlob(ctx context.Context, agent AgentLayers, id, dir string) (digest.Digest, int64, error) {
	tmp, err := os.CreateTemp(filepath.Join(dir, "blobs"), ".layer-*")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name())
	dg := digest.Canonical.Digester()
	cw := &countWriter{w: io.MultiWriter(tmp, dg.Hash())}
	if err := agent.ExportLayer(ctx, id, cw); err != nil {
		tmp.Close()
		return "", 0, fmt.Errorf("agent: exporting layer %s: %w", id, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", 0, err
	}
	if err := tmp.Close(); err != nil {
		return "", 0, err
	}
	d := dg.Digest()
	if err := os.Rename(tmp.Name(), blobPath(dir, d)); err != nil {
		return "", 0, err
	}
	return d, cw.n, nil
}

func blobPath(dir string, d digest.Digest) string {
	return filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded())
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// orderParentsFirst sorts layers so that each comes after its parent.
func orderParentsFirst(infos map[string]LayerInfo) []LayerInfo {
	ids := make([]string, 0, len(infos))
	for id := range infos {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []LayerInfo
	done := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		l, ok := infos[id]
		if !ok || done[id] {
			return
		}
		done[id] = true
		visit(l.Parent)
		out = append(out, l)
	}
	for _, id := range ids {
		visit(id)
	}
	return out
}

// ErrTampered marks an import whose files do not match their digests.
var ErrTampered = errors.New("export does not match its digests")

// Import reads an export directory: it checks every blob and record
// against its digest before anything reaches the agent or the store, then
// imports each layer (parents first) and records the keys against the new
// layer ids. Layers the agent already has (same parent and digest) are
// reused.
func Import(ctx context.Context, s Store, agent AgentLayers, dir string) (*TransferResult, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, fmt.Errorf("cannot read the export: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, manifestName), err)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("%s has format %d, this wrenn reads format %d", filepath.Join(dir, manifestName), m.Format, manifestFormat)
	}
	if err := checkExport(dir, &m); err != nil {
		return nil, err
	}
	agentID, err := agent.Identity(ctx)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	existing, err := agent.ListLayers(ctx)
	if err != nil {
		return nil, fmt.Errorf("agent: listing layers: %w", err)
	}
	type pd struct{ parent, digest string }
	have := map[pd]string{}
	for _, l := range existing {
		if l.Digest != "" {
			have[pd{l.Parent, l.Digest}] = l.ID
		}
	}
	res := &TransferResult{}
	newID := map[string]string{}
	skipped := map[string]bool{} // layers on a base this agent lacks
	for _, l := range m.Layers {
		parent, template := "", ""
		if l.Parent != "" {
			if skipped[l.Parent] {
				skipped[l.ID] = true
				continue
			}
			var ok bool
			if parent, ok = newID[l.Parent]; !ok {
				return res, fmt.Errorf("%s: layer %s comes before its parent %s", manifestName, l.ID, l.Parent)
			}
		} else if l.Base != nil {
			t, err := agent.GetTemplate(ctx, "", l.Base.Name)
			switch {
			case errors.Is(err, ErrNotFound):
				res.Warnings = appendOnce(res.Warnings, fmt.Sprintf("base template %s is not on this agent: its layers were not imported", l.Base.Name))
				skipped[l.ID] = true
				continue
			case err != nil:
				return res, fmt.Errorf("agent: base template %s: %w", l.Base.Name, err)
			case l.Base.Digest != "" && t.Digest != l.Base.Digest:
				res.Warnings = appendOnce(res.Warnings, fmt.Sprintf("base template %s differs on this agent (%s, the export's is %s): its layers were not imported", l.Base.Name, t.Digest, l.Base.Digest))
				skipped[l.ID] = true
				continue
			}
			template = l.Base.Name
		}
		if id, ok := have[pd{parent, l.Digest}]; ok && l.Digest != "" {
			newID[l.ID] = id
			res.Skipped++
			continue
		}
		f, err := os.Open(blobPath(dir, digest.Digest(l.Blob)))
		if err != nil {
			return res, err
		}
		// Hash again while streaming: the file may change after the check.
		vr := digest.Digest(l.Blob).Verifier()
		info, err := agent.ImportLayer(ctx, parent, template, l.Digest, io.TeeReader(f, vr))
		f.Close()
		if err != nil {
			return res, fmt.Errorf("agent: importing layer %s: %w", l.ID, err)
		}
		if !vr.Verified() {
			_ = agent.DeleteLayer(context.WithoutCancel(ctx), info.ID)
			return res, fmt.Errorf("%w: blob %s changed while it was imported", ErrTampered, l.Blob)
		}
		newID[l.ID] = info.ID
		res.Layers++
		res.Bytes += l.SizeBytes
	}
	recs := make([]Record, 0, len(m.Records))
	for _, r := range m.Records {
		if skipped[r.Snapshot.ID] {
			continue
		}
		id, ok := newID[r.Snapshot.ID]
		if !ok {
			return res, fmt.Errorf("%s: record %s names layer %s, which the export does not contain", manifestName, r.Key, r.Snapshot.ID)
		}
		r.Snapshot = SnapshotRef{Agent: agentID, ID: id, Kind: KindLayer}
		recs = append(recs, r)
	}
	if err := putAll(ctx, s, recs); err != nil {
		return res, err
	}
	res.Records = len(recs)
	for _, ref := range m.Refs {
		ref.TemplateID = "" // the final template itself does not travel
		if err := s.PutRef(ctx, ref); err != nil {
			return res, err
		}
		res.Refs++
	}
	return res, nil
}

// checkExport verifies every blob's bytes and every record's key against
// its preimage before the import changes anything.
func checkExport(dir string, m *Manifest) error {
	for _, l := range m.Layers {
		d, err := digest.Parse(l.Blob)
		if err != nil {
			return fmt.Errorf("%w: layer %s has a bad blob digest %q", ErrTampered, l.ID, l.Blob)
		}
		path := blobPath(dir, d)
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("export is missing a layer: %w", err)
		}
		got, err := digest.Canonical.FromReader(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		if got != d {
			return fmt.Errorf("%w: %s has digest %s, the manifest says %s: the file was changed or damaged after export", ErrTampered, path, got, d)
		}
	}
	for _, r := range m.Records {
		if len(r.Preimage) == 0 {
			continue
		}
		if got := digest.FromBytes(r.Preimage).String(); got != r.Key {
			return fmt.Errorf("%w: record %s has a preimage whose digest is %s: the manifest was changed", ErrTampered, r.Key, got)
		}
	}
	return nil
}

// putAll stores records in batches when the store can.
func putAll(ctx context.Context, s Store, recs []Record) error {
	if b, ok := s.(interface {
		PutMany(context.Context, []Record) error
	}); ok {
		return b.PutMany(ctx, recs)
	}
	for _, r := range recs {
		if err := s.Put(ctx, r); err != nil {
			return err
		}
	}
	return nil
}
