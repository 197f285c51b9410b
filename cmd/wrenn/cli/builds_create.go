package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
	"wrenn.dev/wrenn/service"
)

type buildsCreateFlags struct {
	name, file, recipe, archive, base, healthcheck, progress string
	buildArgs                                                []string
	vcpus, memory                                            int
	skipPrePost, follow                                      bool
}

func newBuildsCreateCmd(cf *buildsClientFlags) *cobra.Command {
	f := &buildsCreateFlags{}
	cmd := &cobra.Command{
		Use:   "create --name NAME [-f Wrennfile | --recipe FILE.json] [flags]",
		Short: "Queue a build (invalid recipes are rejected with positions)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.name == "" {
				return usageError("--name is required")
			}
			if f.recipe != "" && cmd.Flags().Changed("file") {
				return usageError("-f and --recipe exclude each other")
			}
			req := &buildv1.CreateBuildRequest{
				Name: f.name, BaseTemplate: f.base, Healthcheck: f.healthcheck,
				Vcpus: int32(f.vcpus), MemoryMb: int32(f.memory), SkipPrePost: f.skipPrePost,
			}
			args, err := parseBuildArgs(f.buildArgs)
			if err != nil {
				return err
			}
			req.BuildArgs = args
			if f.recipe != "" {
				b, err := os.ReadFile(f.recipe)
				if err != nil {
					return exitCode(ExitFailure, err)
				}
				if err := json.Unmarshal(b, &req.Recipe); err != nil {
					return exitCode(ExitFailure, fmt.Errorf("%s: want a JSON list of recipe lines: %v", f.recipe, err))
				}
			} else {
				b, err := os.ReadFile(f.file)
				if err != nil {
					return exitCode(ExitFailure, err)
				}
				req.Wrennfile = string(b)
			}
			if f.archive != "" {
				b, err := os.ReadFile(f.archive)
				if err != nil {
					return exitCode(ExitFailure, err)
				}
				req.Archive = b
			}
			resp, err := cf.client().CreateBuild(cmd.Context(), connect.NewRequest(req))
			if err != nil {
				if diags := service.DiagnosticsFromError(err); len(diags) > 0 {
					// The server names the source "Wrennfile" or "recipe";
					// point at the file the user gave instead.
					local := f.file
					if f.recipe != "" {
						local = f.recipe
					}
					for _, d := range diags {
						if d.Range.File == "Wrennfile" || d.Range.File == "recipe" {
							d.Range.File = local
						}
						fmt.Fprintln(cmd.ErrOrStderr(), d.Error())
					}
					return exitCode(ExitFailure, nil)
				}
				return exitCode(ExitFailure, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), resp.Msg.Build.Id)
			if f.follow {
				return followBuild(cmd, cf, resp.Msg.Build.Id, f.progress)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "template `NAME`")
	fl.StringVarP(&f.file, "file", "f", "Wrennfile", "the Wrennfile `PATH`")
	fl.StringVar(&f.recipe, "recipe", "", "a recipe in the seed's form, a JSON list of lines in `FILE`")
	fl.StringVar(&f.archive, "archive", "", "build context archive `FILE` (tar, tar.gz or zip)")
	fl.StringVar(&f.base, "base", "", "base template (default minimal)")
	fl.StringVar(&f.healthcheck, "healthcheck", "", "the template's healthcheck `SPEC`, HEALTHCHECK's syntax without the keyword\n(e.g. '--interval=1s --retries=5 curl -f localhost:8080'); overrides the file's")
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "set an ARG (`NAME=VALUE`, repeatable)")
	fl.IntVar(&f.vcpus, "vcpus", 0, "vCPUs of the build sandbox (default 1)")
	fl.IntVar(&f.memory, "memory", 0, "memory of the build sandbox in `MB` (default 512)")
	fl.BoolVar(&f.skipPrePost, "skip-pre-post", false, "leave out the pre- and post-build phases")
	fl.BoolVarP(&f.follow, "follow", "F", false, "follow the build's progress until it ends")
	fl.StringVar(&f.progress, "progress", "auto", "progress output with --follow: auto, tty, plain or json")
	return cmd
}
