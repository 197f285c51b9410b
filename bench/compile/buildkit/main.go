// Command bkparse runs BuildKit's Dockerfile front end once on a file — the
// parser, then the typed instruction layer with its linter — and prints a
// one-line summary. It is the baseline that `wrenn compile` is timed against
// as a whole process (see ../run.sh): an editor spawns the checker on every
// save, so process start-up counts as much as parsing.
//
// It lives in its own module so that BuildKit never enters wrenn's go.mod.
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: bkparse DOCKERFILE")
		os.Exit(2)
	}
	src, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bkparse:", err)
		os.Exit(1)
	}
	n, warnings, err := check(src)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bkparse:", err)
		os.Exit(1)
	}
	fmt.Printf("%d instructions, %d warnings\n", n, warnings)
}

// check parses src and runs BuildKit's instruction checks with every lint
// rule enabled, returning the number of instructions and lint warnings.
func check(src []byte) (instrs, warnings int, err error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return 0, 0, err
	}
	lint := linter.New(&linter.Config{
		ExperimentalAll: true,
		Warn: func(string, string, string, string, []parser.Range) {
			warnings++
		},
	})
	if _, _, err := instructions.Parse(res.AST, lint); err != nil {
		return 0, 0, err
	}
	return len(res.AST.Children), warnings + len(res.Warnings), nil
}
