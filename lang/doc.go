// Package lang is the Wrennfile language: parsing into the exported, typed
// AST of ast.go, in which every node carries an exact Range; the Diagnostic
// type the whole tool reports through; the POSIX shell check of RUN, START
// and HEALTHCHECK bodies; and the instruction docs shared by SPEC.md and the
// language server.
//
// Parsing has three layers. A hand-written scanner (scan.go) splits the
// source into logical instructions: it joins continuation lines, keeping a
// byte-offset map so positions inside a joined line point back into the
// file, and collects comments, directives and suppressions. A loose
// grammar (grammar.go) reads each instruction as keyword, flags, rest of
// line; it is written as participle/v2 structs, and Parse recognizes the
// same tokens with an equivalent loop because participle costs more than
// all the rest of Parse (FuzzParse checks both agree). Lowering (lower.go)
// turns each instruction into its typed node, validating as it goes and
// reporting every problem with a stable code; it never stops at the first.
//
// Imports: the standard library and third-party modules only — nothing
// internal to wrenn. Its subpackages (lang/lint, lang/format) import lang.
//
// Invariants: Parse never panics and always returns a *File with at least
// one stage; every Range lies inside the source with Start <= End;
// diagnostics are sorted; Parse is deterministic; participle's raw messages
// never reach a user. SPEC.md sections 1 and 2 are the normative
// description of what is parsed and reported.
package lang
