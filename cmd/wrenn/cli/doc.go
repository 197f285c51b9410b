// Package cli is wrenn's command line as a library: Main() int builds the
// cobra tree and runs it, so testscript runs the CLI in-process. Each
// subcommand lives in its own file and registers itself with register().
// Only this package prints.
//
// Imports: anything in wrenn; nothing imports it but cmd/wrenn.
package cli
