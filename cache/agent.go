package cache

import (
	"context"
	"errors"
	"io"
	"time"
)

// AgentLayers is the agent side of verify, prune, export and import. The
// CLI adapts the generated connect client to it; unit tests use a fake.
// Errors: ErrNotFound for an unknown layer or snapshot, ErrInUse for one a
// sandbox or another layer still needs.
type AgentLayers interface {
	// Identity names the agent, as records store it in SnapshotRef.Agent.
	Identity(ctx context.Context) (string, error)
	ListLayers(ctx context.Context) ([]LayerInfo, error)
	GetLayer(ctx context.Context, id string) (LayerInfo, error)
	DeleteLayer(ctx context.Context, id string) error
	// ExportLayer writes the layer's own diff (a tar stream) to w.
	ExportLayer(ctx context.Context, id string, w io.Writer) error
	// ImportLayer reads a stream written by ExportLayer and commits it on
	// top of the layer parent or, with parent "", directly on the base
	// template named template, checking it against digest.
	ImportLayer(ctx context.Context, parent, template, digest string, r io.Reader) (LayerInfo, error)
	// GetTemplate finds a template (a base, or a snapshot a record of
	// KindSnapshot points at) by id, or by name when id is "".
	GetTemplate(ctx context.Context, id, name string) (TemplateInfo, error)
	// DeleteSnapshot deletes the template a KindSnapshot record points at:
	// the record's SnapshotRef.ID is the template's name (the executor
	// records the build's template name, or wrenn-layer-<key> for a step
	// snapshot on an agent without layers).
	DeleteSnapshot(ctx context.Context, name string) error
}

// TemplateInfo is what the agent reports about a template.
type TemplateInfo struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Digest    string `json:"digest,omitempty"`
	SizeBytes int64  `json:"size_bytes"`
}

// ErrInUse is the agent's answer for a layer that is still needed.
var ErrInUse = errors.New("in use")

// LayerInfo is what the agent reports about a layer (or snapshot).
type LayerInfo struct {
	ID        string    `json:"id"`
	Parent    string    `json:"parent,omitempty"`
	Template  string    `json:"template,omitempty"`
	Digest    string    `json:"digest,omitempty"`
	SizeBytes int64     `json:"size_bytes"`
	Created   time.Time `json:"created"`
}

// agentDelete removes what a record points at; a snapshot that is already
// gone is not an error.
func agentDelete(ctx context.Context, a AgentLayers, ref SnapshotRef) error {
	var err error
	if ref.Kind == KindSnapshot {
		err = a.DeleteSnapshot(ctx, ref.ID)
	} else {
		err = a.DeleteLayer(ctx, ref.ID)
	}
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
