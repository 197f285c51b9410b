package cli

import (
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"wrenn.dev/wrenn/agent/local"
)

// runtimeUsage is the --runtime flag's help, shared by every command that
// starts a local agent.
const runtimeUsage = "OCI `RUNTIME` that runs the local agent's containers: runc (the default, env WRENN_RUNTIME) or crun, by name on PATH or as a path; crun is faster: a build step's container in ~7 ms against runc's ~15 ms (docs/benchmarks.md)"

// defaultRuntime is $WRENN_RUNTIME, or runc.
func defaultRuntime() string {
	if r := os.Getenv("WRENN_RUNTIME"); r != "" {
		return r
	}
	return local.DefaultRuntime
}

// addRuntimeFlag adds --runtime to fl.
func addRuntimeFlag(fl *pflag.FlagSet, p *string) {
	fl.StringVar(p, "runtime", defaultRuntime(), runtimeUsage)
}

// checkRuntime rejects a --runtime that can be neither runc nor crun
// before anything is opened; a path is checked when the agent starts
// (it runs `PATH --version`).
func checkRuntime(rt string) error {
	if rt == "" || !strings.Contains(rt, "/") && !slices.Contains(local.Runtimes, rt) {
		return usageError("--runtime %q: want runc, crun or the path of either", rt)
	}
	return nil
}
