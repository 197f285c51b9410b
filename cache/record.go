package cache

import (
	"time"

	"wrenn.dev/wrenn/lang"
)

// SnapshotKind says what an agent keeps for a record.
type SnapshotKind string

const (
	// KindLayer is a committed overlay layer (agent CommitLayer).
	KindLayer SnapshotKind = "layer"
	// KindSnapshot is a whole template snapshot (CreateSnapshot or
	// FlattenRootfs), used for final results and by agents without layers.
	KindSnapshot SnapshotKind = "snapshot"
)

// SnapshotRef points at what an agent holds for a layer key.
type SnapshotRef struct {
	// Agent is the agent's identity (its Identity answer), so records made
	// on one agent are never trusted on another.
	Agent string       `json:"agent"`
	ID    string       `json:"id"`
	Kind  SnapshotKind `json:"kind"`
}

// Record is what the cache knows about one layer key. The executor writes
// it only after the agent's CommitLayer (or CreateSnapshot) returned, so a
// record never points at a snapshot that was not durable when it was made.
type Record struct {
	Key      string      `json:"key"`
	Snapshot SnapshotRef `json:"snapshot"`
	// Parents are the keys this record builds on, the chain parent first,
	// then any stage it copies from (COPY --from). Steps that make no
	// layer (ENV, ARG, START) have no record, so each parent is the
	// nearest ancestor that makes a layer, or the stage's base key when
	// there is none (use NewRecord, which works this out from the plan).
	Parents []string `json:"parents,omitempty"`
	// Text is the step as written (one line, continuations joined).
	Text string `json:"text"`
	// Source is where the step was written; Range.File names the Wrennfile.
	Source lang.Range `json:"source"`
	// Preimage is the exact byte string whose digest is Key (see SPEC.md
	// "Layer keys"); explain decodes it to name what changed.
	Preimage []byte `json:"preimage,omitempty"`
	// Digest is the agent's content digest of the layer, when known.
	Digest    string    `json:"digest,omitempty"`
	SizeBytes int64     `json:"size_bytes"`
	Created   time.Time `json:"created"`
	LastUsed  time.Time `json:"last_used"`
	Hits      int64     `json:"hits"`
	// Template and Stage name the build that made the record (for du and
	// ls; they are not part of the key).
	Template string `json:"template,omitempty"`
	Stage    string `json:"stage,omitempty"`
}

// Parent is the record's chain parent ("" for a first step).
func (r *Record) Parent() string {
	if len(r.Parents) == 0 {
		return ""
	}
	return r.Parents[0]
}

// Ref names a built template: the key of its final step and the agent's
// template id. The previous build of a ref is what explain compares with.
type Ref struct {
	Name string `json:"name"`
	// Key is the plan's final key (compiler.Plan.FinalKey).
	Key string `json:"key"`
	// Keys are the keys of every layer the build recorded or reused, in
	// plan order: what the ref keeps from prune, and what explain
	// compares the next build with.
	Keys       []string  `json:"keys,omitempty"`
	TemplateID string    `json:"template_id,omitempty"`
	Created    time.Time `json:"created"`
}

// Lease holds keys and agent layers for a running build so that prune
// leaves them alone. A lease ends when Release is called, when it expires,
// or when its process is gone (a kill -9'd build never blocks prune).
type Lease struct {
	ID      string    `json:"id"` // build id, unique per build
	PID     int       `json:"pid"`
	Host    string    `json:"host,omitempty"`
	Keys    []string  `json:"keys,omitempty"`
	Layers  []string  `json:"layers,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// StatKey identifies one version of a file cheaply: if none of these
// change, the file's content digest is assumed unchanged (as git's index
// and BuildKit's contenthash do).
type StatKey struct {
	Path  string
	Size  int64
	MTime int64 // nanoseconds since the epoch
	Inode uint64
	Mode  uint32
}

// Base is what the cache remembers about a base template on an agent: its
// identity digest (compiler.Options.ResolveBase) and the environment a
// sandbox on it starts with (compiler.Options.BaseEnvs). The executor
// stores it after asking the agent, so that a fully cached rebuild needs
// no sandbox to read the env, and explain computes the same keys offline.
type Base struct {
	Agent    string            `json:"agent"`
	Template string            `json:"template"`
	Digest   string            `json:"digest"`
	Env      map[string]string `json:"env"`
	Updated  time.Time         `json:"updated"`
}
