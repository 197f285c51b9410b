package agent

import (
	"context"
	"errors"
	"io"
	"time"
)

// Backend is what the connect handlers (server.go) drive. The local
// overlayfs+runc backend implements it (package agent/local); unit tests of
// the handlers use a fake. Errors use the sentinel values below so that the
// handlers can map them to connect codes.
type Backend interface {
	// CreateSandbox starts a sandbox from a template (by name or id) or
	// from a committed layer (spec.Layer).
	CreateSandbox(ctx context.Context, spec SandboxSpec) (SandboxInfo, error)
	// DestroySandbox is idempotent: an unknown id is not an error.
	DestroySandbox(ctx context.Context, id string) error
	ListSandboxes(ctx context.Context) ([]SandboxInfo, error)

	// Exec runs cmd with args as root in the sandbox, writing output to
	// stdout and stderr as it arrives, and returns the exit code. started
	// (may be nil) is called with the pid once the process runs. The
	// timeout (0: none) kills the whole process tree; a timed-out command
	// returns exit code 124 and ErrTimeout is not returned.
	Exec(ctx context.Context, id string, req ExecSpec, stdout, stderr io.Writer, started func(pid int)) (exitCode int, err error)

	WriteFile(ctx context.Context, id, path string, content []byte) error
	// ExtractTar extracts the tar stream r into the directory spec.Dir of
	// the sandbox (created with its parents) as it is read; entries keep
	// the tar's owners and modes (and times, unless spec.ExtractionTimes)
	// and never land outside spec.Dir. When a path of spec.Absent exists
	// it fails with ErrExists before reading r. It returns the number of
	// entries.
	ExtractTar(ctx context.Context, id string, spec ExtractSpec, r io.Reader) (entries int64, err error)
	ReadFile(ctx context.Context, id, path string) ([]byte, error)

	// CreateSnapshot and FlattenRootfs end the sandbox and store the result
	// as a template under ref.
	CreateSnapshot(ctx context.Context, id string, ref TemplateRef) (sizeBytes int64, err error)
	FlattenRootfs(ctx context.Context, id string, ref TemplateRef) (sizeBytes int64, err error)
	DeleteSnapshot(ctx context.Context, ref TemplateRef) error

	// CommitLayer turns the sandbox's changes since its last commit into a
	// layer in O(1) and keeps the sandbox running on top of it.
	CommitLayer(ctx context.Context, id string) (LayerInfo, error)
	// Layer, Template report content digest and size.
	Layer(ctx context.Context, layerID string) (LayerInfo, error)
	Template(ctx context.Context, ref TemplateRef) (TemplateInfo, error)
	ListLayers(ctx context.Context) ([]LayerInfo, error)
	ListTemplates(ctx context.Context) ([]TemplateInfo, error)
	// DeleteLayer fails with ErrInUse while a sandbox or another layer
	// depends on it.
	DeleteLayer(ctx context.Context, layerID string) error
	// ExportLayer writes the layer (its own diff, as a tar stream) to w;
	// ImportLayer reads one written by ExportLayer on top of parent ("" for
	// a base) and verifies it against digest.
	ExportLayer(ctx context.Context, layerID string, w io.Writer) error
	ImportLayer(ctx context.Context, parent, digest string, r io.Reader) (LayerInfo, error)

	// Close destroys every sandbox (graceful shutdown).
	Close(ctx context.Context) error
}

// DeferredCommitter is a Backend that can answer a commit before the
// layer's digest is known (CommitLayerRequest.defer_digest): the LayerInfo
// it returns has no Digest and no SizeBytes, and Layer (and everything
// else that reports the layer) waits for them. A Backend without it
// answers such a request with CommitLayer.
type DeferredCommitter interface {
	CommitLayerDeferred(ctx context.Context, id string) (LayerInfo, error)
}

// SandboxSpec describes a sandbox to create.
type SandboxSpec struct {
	ID          string // "" lets the backend choose
	Template    string // template name ("minimal" when empty and no TemplateID/Layer)
	TemplateID  string
	TeamID      string
	Layer       string // create from this committed layer instead
	VCPUs       int
	MemoryMB    int
	DiskSizeMB  int
	Timeout     time.Duration
	DefaultUser string
	DefaultEnv  map[string]string
}

// SandboxInfo describes a running sandbox.
type SandboxInfo struct {
	ID       string
	Status   string // "running"
	HostIP   string
	Template string
	Layer    string // the layer the sandbox's changes sit on
	Created  time.Time
	Metadata map[string]string
}

// ExecSpec is a command to run.
type ExecSpec struct {
	Cmd     string
	Args    []string
	Timeout time.Duration
}

// TemplateRef names a template: by Name, or by TeamID/TemplateID.
type TemplateRef struct {
	Name       string
	TeamID     string
	TemplateID string
}

// LayerInfo describes a committed layer.
type LayerInfo struct {
	ID        string
	Parent    string // "" for a layer directly on a template
	Template  string // the base template id at the bottom of the chain
	Digest    string // sha256 of the layer's content (go-digest form)
	SizeBytes int64
	Depth     int // 1 for the first layer on a template
	Created   time.Time
}

// TemplateInfo describes a base or stored template.
type TemplateInfo struct {
	ID        string
	Name      string
	Type      string // "base" or "snapshot"
	Digest    string
	SizeBytes int64
	Created   time.Time
}

// ExtractSpec says where and how ExtractTar writes.
type ExtractSpec struct {
	// Dir is the directory to extract into, absolute in the sandbox.
	Dir string
	// Absent are sandbox paths that must not exist (resolved inside the
	// rootfs, symlinks in their parents followed there): one that does,
	// or whose parent is not a directory, fails the call with ErrExists
	// before anything is written.
	Absent []string
	// ExtractionTimes gives entries the time they are written, as `cp`
	// does, instead of the tar's times.
	ExtractionTimes bool
}

// Sentinel errors the handlers map to connect codes.
var (
	ErrNotFound      = errors.New("not found")
	ErrInUse         = errors.New("in use")
	ErrExists        = errors.New("already exists")
	ErrInvalid       = errors.New("invalid argument")
	ErrPathEscape    = errors.New("path escapes the sandbox root")
	ErrUnimplemented = errors.New("not supported by this backend")
)
