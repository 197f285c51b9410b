// Package lsp is wrenn's language server (`wrenn lsp`): LSP 3.17 over a
// byte stream (stdio), speaking JSON-RPC through go.lsp.dev/jsonrpc2 with
// the message types of go.lsp.dev/protocol.
//
// It serves diagnostics (parser and lint rules, debounced while typing),
// hover documentation for instructions, flags and variables, completion,
// whole-document formatting (lang/format), quick fixes, go to definition,
// document symbols and, with a build context and cache directory
// configured, a code lens per step saying whether its layer is cached.
//
// Imports: lang, lang/lint, lang/format, compiler and cache (for the code
// lens only, read-only).
//
// Invariants: every position sent to the client is 0-based with columns in
// UTF-16 code units, converted from lang's byte offsets by one mapper
// (position.go); requests are handled one at a time in arrival order, so a
// request always sees every earlier didChange; nothing but protocol
// messages is written to the stream.
package lsp
