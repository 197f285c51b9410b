// Package compiler lowers a lang.File into a Plan: a DAG of steps with the
// state each runs in (user, workdir, env, ARGs, timeout, the exact shell script
// the executor sends) and a content-addressed layer key per step, plus the
// build-context hashing that feeds COPY keys.
//
// Imports: lang (and lang's subpackages) only.
//
// Invariants: keys are go-digest sha256 digests over a versioned preimage
// documented in SPEC.md "Layer keys"; ranges, comments and display text are
// never hashed; timeouts are not part of a key.
package compiler
