// Package proto holds the .proto definitions and the generated protobuf and
// connect-go code:
//
//   - hostagent/v1 (hostagentv1, hostagentv1connect): the production host
//     agent's API, wire-compatible field for field.
//   - wrenn/agent/v1 (agentv1, agentv1connect): wrenn's LayerService (layer
//     commits, digests, transfer, agent identity).
//
// Regenerate everything with `go generate ./proto` (protoc plus the plugins
// pinned by go.mod's tool directives); TestGeneratedCodeIsFresh fails when
// the checked-in code is stale.
//
// Imports: nothing internal.
package proto
