package cachetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/cache"
)

// FakeAgent is an in-memory cache.AgentLayers for unit tests: layers with
// content, parents, in-use marks, and a log of deletions.
type FakeAgent struct {
	ID string

	mu        sync.Mutex
	layers    map[string]*fakeLayer
	snapshots map[string]cache.TemplateInfo
	next      int
	// InUse makes DeleteLayer fail with cache.ErrInUse for these ids.
	InUse map[string]bool
	// Deleted lists deleted layer and snapshot ids in order.
	Deleted []string
}

type fakeLayer struct {
	info    cache.LayerInfo
	content []byte
}

// NewFakeAgent returns an agent with no layers.
func NewFakeAgent(id string) *FakeAgent {
	return &FakeAgent{ID: id, layers: map[string]*fakeLayer{}, snapshots: map[string]cache.TemplateInfo{"tmpl-minimal": {ID: "tmpl-minimal", Name: "minimal", Digest: "sha256:minimal"}}, InUse: map[string]bool{}}
}

var _ cache.AgentLayers = (*FakeAgent)(nil)

// AddLayer commits a layer with content on parent ("" for the base) and
// returns its info, as CommitLayer would.
func (a *FakeAgent) AddLayer(parent string, content []byte) cache.LayerInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.add(parent, "tmpl-minimal", content)
}

func (a *FakeAgent) add(parent, template string, content []byte) cache.LayerInfo {
	a.next++
	info := cache.LayerInfo{ID: fmt.Sprintf("%s-layer-%d", a.ID, a.next), Parent: parent, Template: template,
		Digest: digest.FromBytes(content).String(), SizeBytes: int64(len(content)), Created: time.Now().UTC()}
	a.layers[info.ID] = &fakeLayer{info: info, content: bytes.Clone(content)}
	return info
}

// AddSnapshot stores a whole-template snapshot (a template named like
// its id).
func (a *FakeAgent) AddSnapshot(id string, size int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.snapshots[id] = cache.TemplateInfo{ID: id, Name: id, SizeBytes: size}
}

// Has reports whether the layer exists.
func (a *FakeAgent) Has(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.layers[id]
	return ok
}

// Content returns a layer's bytes.
func (a *FakeAgent) Content(id string) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if l := a.layers[id]; l != nil {
		return bytes.Clone(l.content)
	}
	return nil
}

// Remove deletes a layer behind the cache's back (a lost snapshot).
func (a *FakeAgent) Remove(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.layers, id)
}

func (a *FakeAgent) Identity(context.Context) (string, error) { return a.ID, nil }

func (a *FakeAgent) ListLayers(context.Context) ([]cache.LayerInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]cache.LayerInfo, 0, len(a.layers))
	for _, l := range a.layers {
		out = append(out, l.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (a *FakeAgent) GetLayer(_ context.Context, id string) (cache.LayerInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.layers[id]
	if !ok {
		return cache.LayerInfo{}, fmt.Errorf("layer %s: %w", id, cache.ErrNotFound)
	}
	return l.info, nil
}

func (a *FakeAgent) DeleteLayer(_ context.Context, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.layers[id]; !ok {
		return fmt.Errorf("layer %s: %w", id, cache.ErrNotFound)
	}
	if a.InUse[id] {
		return fmt.Errorf("layer %s: %w", id, cache.ErrInUse)
	}
	for _, l := range a.layers {
		if l.info.Parent == id {
			return fmt.Errorf("layer %s has child %s: %w", id, l.info.ID, cache.ErrInUse)
		}
	}
	delete(a.layers, id)
	a.Deleted = append(a.Deleted, id)
	return nil
}

func (a *FakeAgent) ExportLayer(_ context.Context, id string, w io.Writer) error {
	a.mu.Lock()
	l, ok := a.layers[id]
	a.mu.Unlock()
	if !ok {
		return fmt.Errorf("layer %s: %w", id, cache.ErrNotFound)
	}
	_, err := w.Write(l.content)
	return err
}

func (a *FakeAgent) ImportLayer(_ context.Context, parent, template, dg string, r io.Reader) (cache.LayerInfo, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return cache.LayerInfo{}, err
	}
	if got := digest.FromBytes(b).String(); dg != "" && got != dg {
		return cache.LayerInfo{}, fmt.Errorf("layer content has digest %s, want %s", got, dg)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.layers[parent]; parent != "" && !ok {
		return cache.LayerInfo{}, fmt.Errorf("parent layer %s: %w", parent, cache.ErrNotFound)
	}
	tid := ""
	if parent == "" {
		for id, t := range a.snapshots {
			if t.Name == template {
				tid = id
			}
		}
		if tid == "" {
			return cache.LayerInfo{}, fmt.Errorf("base template %q: %w", template, cache.ErrNotFound)
		}
	} else {
		tid = a.layers[parent].info.Template
	}
	return a.add(parent, tid, b), nil
}

// SetBase replaces the base template "minimal" (a different rootfs).
func (a *FakeAgent) SetBase(digest string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.snapshots["tmpl-minimal"] = cache.TemplateInfo{ID: "tmpl-minimal", Name: "minimal", Digest: digest}
}

func (a *FakeAgent) GetTemplate(_ context.Context, id, name string) (cache.TemplateInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for tid, t := range a.snapshots {
		if (id != "" && tid == id) || (id == "" && t.Name == name) {
			return t, nil
		}
	}
	return cache.TemplateInfo{}, fmt.Errorf("template %s%s: %w", id, name, cache.ErrNotFound)
}

func (a *FakeAgent) DeleteSnapshot(_ context.Context, name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, t := range a.snapshots {
		if t.Name == name {
			delete(a.snapshots, id)
			a.Deleted = append(a.Deleted, id)
			return nil
		}
	}
	return fmt.Errorf("snapshot %s: %w", name, cache.ErrNotFound)
}
