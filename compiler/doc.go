// Package compiler lowers a lang.File into a Plan: the steps a build runs,
// in execution order, with the state each runs in (user, workdir, env,
// ARGs, timeout, the exact shell script the executor sends) and a
// content-addressed layer key per step, plus the build-context handling
// that feeds COPY keys (directories and archives, .wrennignore, globs,
// parallel hashing behind a stat cache, the tar of selected files).
//
// Imports: lang only (archtest enforces it). Consumers (cache, executor,
// service) depend on this package, never the reverse: what it needs from
// them (a base-template resolver, a stat cache) are small types declared
// here.
//
// Invariants, all tested: keys are go-digest sha256 digests over the
// versioned canonical preimage documented in SPEC.md section 4 (Preimage,
// PreimageVersion); ranges, comments, formatting, keyword case, flag order
// and timeouts never enter a key; a change to a step changes its key and
// every later key of its chain and nothing before; only the context files a
// COPY selects enter its key, by content and mode, never mtime or owner.
package compiler
