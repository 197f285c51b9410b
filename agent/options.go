package agent

import "log/slog"

// Defaults for the server's limits.
const (
	// DefaultMaxWriteFileBytes bounds one WriteFile: the executor uploads
	// build contexts with it, so it must hold a large archive, but one call
	// must not be able to exhaust the agent's memory.
	DefaultMaxWriteFileBytes = 256 << 20
	// DefaultMaxExecOutputBytes bounds what Exec buffers per stream; the rest
	// is dropped and counted in the Wrenn-Stdout-Dropped and
	// Wrenn-Stderr-Dropped response headers. ExecStream has no such bound.
	DefaultMaxExecOutputBytes = 64 << 20
	// maxChunkBytes is the largest chunk ExportLayer sends; ImportLayer
	// accepts chunks up to twice that.
	maxChunkBytes = 1 << 20
)

// Option configures NewServer and ServeEmbedded.
type Option func(*options)

type options struct {
	token              string
	agentID            string
	version            string
	maxWriteFileBytes  int64
	maxExecOutputBytes int
	layerService       bool
	logger             *slog.Logger
}

func newOptions(opts []Option) options {
	o := options{
		maxWriteFileBytes:  DefaultMaxWriteFileBytes,
		maxExecOutputBytes: DefaultMaxExecOutputBytes,
		layerService:       true,
		logger:             slog.New(slog.DiscardHandler),
	}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithToken makes every RPC require "Authorization: Bearer token". An empty
// token leaves the server open (fine on loopback or a private socket).
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithAgentID sets the identity Info reports. Without it, a backend that has
// an AgentID() string method supplies it, else a random one is made per
// server (so a cache cannot tell a restarted agent is the same one).
func WithAgentID(id string) Option { return func(o *options) { o.agentID = id } }

// WithVersion sets the version string Info reports.
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithMaxWriteFileBytes bounds the content of one WriteFile.
func WithMaxWriteFileBytes(n int64) Option { return func(o *options) { o.maxWriteFileBytes = n } }

// WithMaxExecOutputBytes bounds what Exec returns per output stream.
func WithMaxExecOutputBytes(n int) Option { return func(o *options) { o.maxExecOutputBytes = n } }

// WithoutLayerService serves hostagent.v1 only, as the production agent
// does: every wrenn.agent.v1 call then answers Unimplemented. The executor's
// fallback path is tested against this.
func WithoutLayerService() Option { return func(o *options) { o.layerService = false } }

// WithLogger logs failed calls (nil: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}
