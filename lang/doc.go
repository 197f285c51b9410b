// Package lang is the Wrennfile language: a participle/v2 grammar (unexported)
// lowered into the exported, typed AST of ast.go, in which every node carries
// an exact Range; the Diagnostic type the whole tool reports through; and the
// POSIX shell check of RUN, START and HEALTHCHECK bodies.
//
// Imports: the standard library and third-party modules only — nothing
// internal to wrenn. Its subpackages (lang/lint, lang/format) import lang.
//
// Invariants: Parse never panics and always returns a *File; every Range lies
// inside the source; diagnostics are sorted; participle's raw messages never
// reach a user. SPEC.md is the normative description of what is parsed.
package lang
