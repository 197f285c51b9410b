package cli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var updateScripts = flag.Bool("update-scripts", false, "rewrite the cmp golden files in testdata/script")

// statusFileEnv names the file to which the test's wrenn writes its exit
// code, so scripts can check the exact code with `exitcode N`.
const statusFileEnv = "WRENN_TEST_STATUS_FILE"

// TestMain lets scripts run `wrenn` as the test binary itself: Main with
// the script's arguments, no separate build.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"wrenn": func() {
			code := Main()
			if f := os.Getenv(statusFileEnv); f != "" {
				if err := os.WriteFile(f, []byte(strconv.Itoa(code)), 0o644); err != nil {
					fmt.Fprintln(os.Stderr, "test harness:", err)
				}
			}
			os.Exit(code)
		},
	})
}

// TestScripts runs the CLI scripts in testdata/script: each is a txtar of
// commands and the exact output expected (see testscript's docs).
// Update the cmp golden files with `go test ./cmd/wrenn/cli -run TestScripts -update-scripts`.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		UpdateScripts:       *updateScripts,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv(statusFileEnv, filepath.Join(e.WorkDir, ".wrenn-status"))
			// Tests must not depend on the developer's terminal settings.
			e.Setenv("NO_COLOR", "")
			e.Setenv("TERM", "")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":   cmdExitcode,
			"sarifcheck": cmdSARIFCheck,
		},
	})
}

// cmdExitcode checks the exit code of the last `exec wrenn`:
// `exitcode 2`.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: exitcode N")
	}
	b, err := os.ReadFile(ts.Getenv(statusFileEnv))
	ts.Check(err)
	if got := strings.TrimSpace(string(b)); got != args[0] {
		ts.Fatalf("wrenn exited %s, want %s", got, args[0])
	}
	ts.Check(os.Remove(ts.Getenv(statusFileEnv)))
}

// cmdSARIFCheck validates a SARIF file written by a script against the
// fields code scanning requires (checkSARIF): `sarifcheck out.sarif`.
func cmdSARIFCheck(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sarifcheck FILE")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	if probs := checkSARIF(data); len(probs) > 0 {
		ts.Fatalf("invalid SARIF:\n%s", strings.Join(probs, "\n"))
	}
}
