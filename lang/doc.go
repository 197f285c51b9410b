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
// same tokens with an equivalent hand-written loop. The loop is the hot
// path because participle alone costs more than all the rest of Parse
// (BenchmarkGrammar: ~5.6 µs per instruction against ~3-4 µs for the whole
// of BenchmarkParse1000). The grammar stays as the readable, normative
// definition, and equivalence is enforced, not assumed: TestGrammarAgrees
// runs both over every corpus file and golden, and FuzzParse over
// generated input, failing on any difference in the instructions, flags
// and ranges they find. Lowering (lower.go)
// turns each instruction into its typed node, validating as it goes and
// reporting every problem with a stable code; it never stops at the first.
//
// RUN, START and HEALTHCHECK bodies are checked as POSIX shell with
// mvdan.cc/sh (shell.go). Bodies of plain words, simple redirections and
// `| && || ;` (most of them) take a fast path, simpleShell, that builds the
// very tree mvdan.cc/sh builds; TestSimpleShellMatchesParser (every body
// in the test corpora and goldens, and their truncations),
// TestSimpleShellSameDiagnostics and FuzzSimpleShell prove the two paths
// give identical trees and diagnostics.
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
