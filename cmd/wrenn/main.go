// Command wrenn compiles Wrennfiles and builds sandbox templates incrementally.
// All behaviour lives in package cli so that tests can run it in-process.
package main

import (
	"os"

	"wrenn.dev/wrenn/cmd/wrenn/cli"
)

func main() { os.Exit(cli.Main()) }
