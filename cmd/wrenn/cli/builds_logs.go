package cli

import (
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/executor"
	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
	"wrenn.dev/wrenn/service"
)

func newBuildsLogsCmd(cf *buildsClientFlags) *cobra.Command {
	var follow bool
	var progress string
	cmd := &cobra.Command{
		Use:   "logs ID [-f]",
		Short: "Print a build's log; -f follows it live",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if follow {
				return followBuild(cmd, cf, args[0], progress)
			}
			resp, err := cf.client().GetBuild(cmd.Context(), connect.NewRequest(&buildv1.GetBuildRequest{Id: args[0]}))
			if err != nil {
				return exitCode(ExitFailure, err)
			}
			w := cmd.OutOrStdout()
			b := resp.Msg.Build
			for _, e := range b.Logs {
				state := "ok"
				switch {
				case e.Cached:
					state = "cached"
				case !e.Ok:
					state = fmt.Sprintf("failed (exit %d)", e.Exit)
				}
				fmt.Fprintf(w, "[%d/%d] %s: %s  %s %dms\n", e.Step, b.TotalSteps, e.Phase, e.Cmd, state, e.ElapsedMs)
				if e.Stdout != "" {
					fmt.Fprint(w, buildsIndent(e.Stdout))
				}
				if e.Stderr != "" {
					fmt.Fprint(w, buildsIndent(e.Stderr))
				}
			}
			fmt.Fprintf(w, "status: %s\n", b.Status)
			if b.Error != "" {
				fmt.Fprintf(w, "error: %s\n", b.Error)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "stream the build's progress until it ends")
	cmd.Flags().StringVar(&progress, "progress", "auto", "progress output: auto, tty, plain or json")
	return cmd
}

func buildsIndent(s string) string {
	out := ""
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out += "    " + s[start:i+1]
			start = i + 1
		}
	}
	if start < len(s) {
		out += "    " + s[start:] + "\n"
	}
	return out
}

// followBuild watches a build with the same progress display as
// `wrenn build`; the exit code says how it ended.
func followBuild(cmd *cobra.Command, cf *buildsClientFlags, id, mode string) error {
	switch mode {
	case "auto", "tty", "plain", "json":
	default:
		return usageError("--progress %q: want auto, tty, plain or json", mode)
	}
	stream, err := cf.client().WatchBuild(cmd.Context(), connect.NewRequest(&buildv1.WatchBuildRequest{Id: id}))
	if err != nil {
		return exitCode(ExitFailure, err)
	}
	defer stream.Close()
	out := newProgress(cmd.OutOrStdout(), mode)
	var last *buildv1.Status
	total := 0
	if r, err := cf.client().GetBuild(cmd.Context(), connect.NewRequest(&buildv1.GetBuildRequest{Id: id})); err == nil {
		total = int(r.Msg.Build.TotalSteps)
	}
	for stream.Receive() {
		switch ev := stream.Msg().Event.(type) {
		case *buildv1.WatchBuildResponse_Status:
			if ev.Status.Status == service.StatusPending && last != nil && last.Status == service.StatusRunning {
				msg := "build waits in the queue again"
				if ev.Status.Error != "" {
					msg += " (" + ev.Status.Error + ")"
				}
				out.event(executor.Event{Type: "info", Message: msg})
			}
			last = ev.Status
			if ev.Status.TotalSteps > 0 {
				total = int(ev.Status.TotalSteps)
			}
		case *buildv1.WatchBuildResponse_StepStart:
			if !ev.StepStart.Cached {
				out.event(executor.Event{Type: "step-start", Step: int(ev.StepStart.Step), Total: total, Phase: ev.StepStart.Phase, Cmd: ev.StepStart.Cmd})
			}
		case *buildv1.WatchBuildResponse_Output:
			o := ev.Output
			if o.SkippedBytes > 0 {
				out.event(executor.Event{Type: "info", Message: fmt.Sprintf(
					"#%d | … %d bytes of %s not shown (joined late; `wrenn builds logs %s` has all of it once the build ends)",
					o.Step, o.SkippedBytes, o.Stream, id)})
			}
			if len(o.Data) > 0 {
				out.event(executor.Event{Type: "output", Step: int(o.Step), Total: total, Stream: o.Stream, Data: string(o.Data)})
			}
		case *buildv1.WatchBuildResponse_StepEnd:
			e := ev.StepEnd.Entry
			status := "done"
			switch {
			case e.Cached:
				status = "cached"
			case !e.Ok:
				status = "failed"
			}
			out.event(executor.Event{Type: "step-end", Step: int(e.Step), Total: total, Phase: e.Phase, Cmd: e.Cmd,
				Status: status, Exit: int(e.Exit), Elapsed: time.Duration(e.ElapsedMs) * time.Millisecond, Output: buildsLastLine(e.Stdout, e.Stderr)})
		}
	}
	out.close()
	if err := stream.Err(); err != nil {
		return exitCode(ExitFailure, err)
	}
	if last == nil {
		return exitCode(ExitFailure, errors.New("the server ended the stream without a status"))
	}
	switch last.Status {
	case service.StatusSuccess:
		fmt.Fprintf(cmd.OutOrStdout(), "build %s: success\n", id)
		return nil
	case service.StatusCancelled:
		fmt.Fprintf(cmd.ErrOrStderr(), "wrenn: build %s cancelled\n", id)
		return exitCode(ExitCanceled, nil)
	case service.StatusFailed:
		return exitCode(ExitFailure, fmt.Errorf("build %s failed: %s", id, last.Error))
	}
	return exitCode(ExitFailure, fmt.Errorf("build %s ended the stream while %s", id, last.Status))
}

// buildsLastLine is the last non-empty line of a step's output, as `wrenn
// build` shows it.
func buildsLastLine(stdout, stderr string) string {
	for _, s := range []string{stderr, stdout} {
		end := len(s)
		for end > 0 && (s[end-1] == '\n' || s[end-1] == ' ') {
			end--
		}
		if end == 0 {
			continue
		}
		start := end
		for start > 0 && s[start-1] != '\n' {
			start--
		}
		return s[start:end]
	}
	return ""
}
