// Package executor runs a compiled Plan on a host agent: it resumes from the
// deepest cached snapshot, runs the remaining steps with the seed's semantics
// (phases, users, env, COPY, START, healthcheck), commits and records layers,
// and ends in a snapshot or a flattened rootfs.
//
// Imports: compiler, cache, lang, and the generated clients in proto. It
// declares the small agent interfaces it needs.
//
// Invariants: nothing half-made is recorded; on failure or cancel the sandbox
// is destroyed with a detached context.
package executor
