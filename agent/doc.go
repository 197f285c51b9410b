// Package agent is the host agent's server and client. Backend (backend.go)
// is the contract a sandbox implementation fulfils; the local overlayfs +
// runc one lives in agent/local. NewServer puts a Backend behind two connect
// services — hostagent.v1.HostAgentService, wire-compatible with the
// production agent, and wrenn.agent.v1.LayerService for what wrenn needs
// beyond it — speaking connect, gRPC and gRPC-Web, binary or JSON, over
// HTTP/1.1 and h2c. Dial is the matching client (http://, https://,
// unix://); ServeEmbedded runs an in-process agent on a private socket so the
// embedded default uses the same client as a remote agent.
//
// Imports: proto only (never lang, compiler, cache, executor or service).
//
// Invariants: paths from requests never resolve outside a sandbox's rootfs
// (the backend resolves them; the handlers reject ids that could be paths);
// backend sentinel errors keep their meaning on the wire (NotFound,
// InvalidArgument, FailedPrecondition, Unimplemented); with a token, no call
// reaches the backend unauthenticated.
package agent
