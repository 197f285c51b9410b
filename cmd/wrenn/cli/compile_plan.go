package cli

import (
	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/lang"
)

// compilePlan hands one checked file to the compiler's plan printer
// (plan.go), which prints the diagnostics with the plan.
func compilePlan(cmd *cobra.Command, f *compileFlags, file *lang.File, diags lang.Diagnostics, readFailed bool) error {
	buildArgs, err := parseBuildArgs(f.buildArgs)
	if err != nil {
		return err
	}
	hasErrors, err := runPlan(cmd, cmd.OutOrStdout(), file, diags, planOptions{
		Context:     f.context,
		BuildArgs:   buildArgs,
		SkipPrePost: f.skipPrePost,
		Target:      f.target,
		Format:      f.format,
	})
	if err != nil {
		return exitCode(ExitFailure, err)
	}
	if hasErrors || readFailed || (f.strict && hasSeverity(diags, lang.SeverityWarning)) {
		return exitCode(ExitFailure, nil)
	}
	return nil
}
