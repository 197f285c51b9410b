// Package format prints a Wrennfile in wrenn's canonical layout (wrenn fmt,
// and the language server's formatting request). docs/fmt.md is the
// normative description of that layout.
//
// Imports: lang only.
//
// Invariants: Source never reformats a file with parse errors; its output
// parses to the same meaning as its input (every instruction, directive,
// stage and comment compares equal once source positions and spelling are
// set aside), so no layer key can change; and it is idempotent. The first
// invariant is not left to care alone: Source re-parses its own output and
// falls back to keeping an instruction's text as written when a layout
// change would alter what the parser reads from it.
package format
