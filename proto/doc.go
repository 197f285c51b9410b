// Package proto holds the .proto definitions and the generated protobuf and
// connect-go code (regenerate with `go generate ./proto`).
//
// Imports: nothing internal.
package proto
