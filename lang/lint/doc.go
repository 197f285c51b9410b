// Package lint holds wrenn's lint rules: checks that run on a parsed
// Wrennfile and know the seed's semantics (ENV splits on the first '=', a
// RUN's background processes die at step end, the pre-build phase switches
// the recipe to wrenn-user, context files arrive only through COPY, …), so
// they catch what a Dockerfile linter cannot.
//
// Rules is the table of every rule: a stable kebab-case code, a default
// severity, a one-line summary and a documentation page under docs/rules/.
// Run parses and lints a file and applies configuration (directives and
// options) and `# wrenn-ignore=` suppressions; it is what `wrenn compile`
// and the language server call.
//
// Imports: lang, the standard library and mvdan.cc/sh/v3 only.
//
// Invariants: one pass over the instructions builds the state every rule
// reads (user, workdir, variables, stages, each shell body parsed once), so
// linting is linear in the size of the file; errors can never be silenced,
// neither by a directive nor by a suppression comment; output is sorted.
package lint
