package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/executor"
	"wrenn.dev/wrenn/lang"
)

func init() { register(newBuildCmd) }

type buildFlags struct {
	file, contextDir, tag, target   string
	buildArgs, noCacheFilter        []string
	skipPrePost, noCache, dryRun    bool
	vcpus, memory                   int
	progress, cacheDir, root, agent string
	token, output, healthcheck      string
	runtime                         string
}

func newBuildCmd() *cobra.Command {
	f := &buildFlags{}
	cmd := &cobra.Command{
		Use:   "build [flags]",
		Short: "Build a template incrementally from a Wrennfile",
		Long: `build compiles the Wrennfile, looks up every step's layer key in the cache,
resumes from the deepest step whose layer still exists on the agent, and runs
only the steps after it, committing a layer per step that changes files.

Without --agent the local agent runs in this process under --root (default
$WRENN_ROOT or /var/lib/wrenn), driven over a private socket by the same
client as a remote agent. The base template ("minimal" unless FROM says
otherwise) must exist there: see 'wrenn base bootstrap'. Its containers run
with runc, or with crun (--runtime crun, or WRENN_RUNTIME=crun): every step
starts a container, and crun takes a third to a half of runc's time.

--healthcheck sets the template's healthcheck, or overrides the file's: it
is the seed's build parameter, a HEALTHCHECK line without the keyword, with
the same flags and defaults (interval 3s, timeout 10s, start period 0,
retries 0 = unlimited). With a healthcheck, START's process is launched,
the check must pass, and the template is a snapshot; without, the rootfs
is flattened into a base template.

Examples:
  wrenn build -t runner
  wrenn build -t web --healthcheck 'wget -qO- http://127.0.0.1:8080/'
  wrenn build -t web --healthcheck '--interval=1s --retries=30 CMD curl -fs localhost:8080'
  wrenn build --dry-run --progress json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBuild(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "Wrennfile", "the Wrennfile `PATH`")
	fl.StringVar(&f.contextDir, "context", "", "build context `DIR` or archive (default: the Wrennfile's directory)")
	fl.StringVarP(&f.tag, "tag", "t", "", "template `NAME` (also recorded as a cache ref)")
	fl.StringVar(&f.target, "target", "", "build this `STAGE`")
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "set an ARG (`NAME=VALUE`, repeatable)")
	fl.StringArrayVar(&f.noCacheFilter, "no-cache-filter", nil, "run this `LINE` or STAGE even when cached (repeatable)")
	fl.BoolVar(&f.skipPrePost, "skip-pre-post", false, "leave out the pre- and post-build phases")
	fl.BoolVar(&f.noCache, "no-cache", false, "run every step")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan with cached/will-run per step; run nothing")
	fl.StringVar(&f.healthcheck, "healthcheck", "", "set or override the healthcheck: `SPEC` is '[--interval=D] [--timeout=D] [--start-period=D] [--retries=N] [CMD] COMMAND'")
	fl.IntVar(&f.vcpus, "vcpus", 0, "vCPUs of the build sandbox")
	fl.IntVar(&f.memory, "memory", 0, "memory of the build sandbox in `MB`")
	fl.StringVar(&f.progress, "progress", "auto", "progress output: auto, tty, plain or json")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "layer cache `DIR` (default: the user cache directory)")
	fl.StringVar(&f.root, "root", "", "state `DIR` of the embedded agent (default $WRENN_ROOT or /var/lib/wrenn)")
	fl.StringVar(&f.agent, "agent", "", "build on the agent at `URL` instead of the embedded one")
	addRuntimeFlag(fl, &f.runtime)
	fl.StringVar(&f.token, "token", "", "bearer `TOKEN` for --agent")
	fl.StringVarP(&f.output, "output", "o", "", "export the final rootfs to `PATH`: DIR, file.tar or rootfs.ext4")
	return cmd
}

func runBuild(cmd *cobra.Command, f *buildFlags) error {
	switch f.progress {
	case "auto", "tty", "plain", "json":
	default:
		return usageError("--progress %q: want auto, tty, plain or json", f.progress)
	}
	if f.agent != "" && f.root != "" {
		return usageError("--root and --agent exclude each other")
	}
	if f.agent != "" && cmd.Flags().Changed("runtime") {
		return usageError("--runtime is the embedded agent's: an --agent has its own (wrenn agent serve --runtime)")
	}
	if err := checkRuntime(f.runtime); err != nil {
		return err
	}
	args, err := parseBuildArgs(f.buildArgs)
	if err != nil {
		return err
	}
	var hc *lang.HealthcheckInstr
	if cmd.Flags().Changed("healthcheck") {
		if hc, err = executor.ParseHealthcheck("--healthcheck", f.healthcheck); err != nil {
			return exitCode(ExitUsage, err)
		}
	}
	src, err := os.ReadFile(f.file)
	if err != nil {
		return exitCode(ExitFailure, err)
	}
	file, diags := lang.Parse(f.file, src)
	if diags.HasErrors() {
		for _, d := range diags.Errors() {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s:%d:%d: error: %s\n", f.file, d.Range.Start.Line, d.Range.Start.Column, d.Message)
		}
		return exitCode(ExitFailure, nil)
	}
	ctx, stopSignals := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	// The embedded agent starts (its recovery pass reads every layer's
	// metadata) while the cache opens and the context is walked.
	type started struct {
		url  string
		stop func()
		err  error
	}
	url, token := f.agent, f.token
	agentURL := func() (string, error) { return url, nil }
	embeddedRoot := ""
	if url == "" {
		root := f.root
		if root == "" {
			root = defaultRoot()
		}
		embeddedRoot = root
		done := make(chan started, 1)
		go func() {
			u, stop, err := startEmbeddedAgent(context.WithoutCancel(ctx), root, f.runtime)
			if err != nil {
				err = fmt.Errorf("embedded agent on %s: %w", root, err)
			}
			done <- started{u, stop, err}
		}()
		embedded := sync.OnceValue(func() started { return <-done })
		defer func() {
			if s := embedded(); s.stop != nil {
				s.stop()
			}
		}()
		agentURL = func() (string, error) { s := embedded(); return s.url, s.err }
	}

	cacheDir := f.cacheDir
	if cacheDir == "" {
		cacheDir = cache.DefaultDir()
	}
	store, err := cache.Open(cacheDir, cache.Options{LockWait: 30 * time.Second})
	if err != nil {
		return exitCode(ExitFailure, err)
	}
	defer store.Close()
	// The context is hashed lazily, by the compile, through the store's
	// stat cache: an unchanged file is not read again. The stat cache reads
	// the context's entries in one scan and writes new ones in one
	// transaction, at the end (deferred after store.Close: runs before it).
	sc := cache.NewStatCache(ctx, store)
	defer func() { _ = sc.Flush() }()
	// wrenn's own directories are never part of the context, even when
	// they lie inside it (--root ./.wrenn): the agent writes there while
	// the context is walked.
	bctx, err := openBuildContext(f, sc, embeddedRoot, cacheDir)
	if err != nil {
		return exitCode(ExitFailure, err)
	}
	if url, err = agentURL(); err != nil {
		return exitCode(ExitFailure, err)
	}
	client, err := agent.Dial(url, token)
	if err != nil {
		return exitCode(ExitFailure, err)
	}
	defer client.Close()

	req := executor.Request{
		Agent: client, Store: store, File: file, Name: f.tag, NoCache: f.noCache,
		Healthcheck: hc, VCPUs: f.vcpus, MemoryMB: f.memory,
		Options: compiler.Options{BuildArgs: args, SkipPrePost: f.skipPrePost, Target: f.target, Context: bctx},
	}
	if len(f.noCacheFilter) > 0 {
		plan, _, err := executor.Plan(ctx, req)
		if err != nil {
			return exitCode(ExitFailure, err)
		}
		req.NoCacheSteps, err = noCacheSteps(plan, f.noCacheFilter)
		if err != nil {
			return err
		}
	}
	mode := f.progress
	if f.dryRun && mode != "json" {
		mode = "plain"
	}
	out := newProgress(cmd.OutOrStdout(), mode)
	defer out.close()
	if f.dryRun {
		plan, cached, err := executor.Plan(ctx, req)
		if err != nil {
			return exitCode(ExitFailure, err)
		}
		out.dryRun(plan, cached, req.NoCache, req.NoCacheSteps)
		return nil
	}
	req.Events = out.event
	res, err := executor.Build(ctx, req)
	if res != nil {
		out.summary(res)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || (res != nil && res.Status == executor.StatusCancelled) {
			fmt.Fprintln(cmd.ErrOrStderr(), "wrenn: build cancelled")
			return exitCode(ExitCanceled, nil)
		}
		return exitCode(ExitFailure, err)
	}
	if f.output != "" {
		data, err := exportTar(ctx, client, res.Template)
		if err == nil {
			err = writeExport(ctx, data, f.output)
		}
		if err != nil {
			return exitCode(ExitFailure, err)
		}
	}
	return nil
}

// openBuildContext opens --context (a directory or an archive), by default
// the Wrennfile's directory.
func openBuildContext(f *buildFlags, sc *cache.StatCache, exclude ...string) (*compiler.Context, error) {
	p := f.contextDir
	if p == "" {
		p = filepath.Dir(f.file)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	if fi.IsDir() {
		var abs []string
		for _, x := range exclude {
			if a, err := filepath.Abs(x); x != "" && err == nil {
				abs = append(abs, a)
			}
		}
		return compiler.OpenContext(p, compiler.ContextOptions{StatCache: sc.Under(p), Exclude: abs})
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	return compiler.OpenArchive(data, compiler.ContextOptions{StatCache: sc})
}

// noCacheSteps maps --no-cache-filter values (a source line or a stage
// name) to the step IDs they force to run.
func noCacheSteps(plan *compiler.Plan, filters []string) (map[int]bool, error) {
	ids := map[int]bool{}
	for _, v := range filters {
		matched := false
		if line, err := strconv.Atoi(v); err == nil {
			for _, s := range plan.Steps {
				if s.Range.Start.Line == line {
					ids[s.ID], matched = true, true
				}
			}
		} else {
			for _, st := range plan.Stages {
				if st.Name == v {
					for _, id := range st.Steps {
						ids[id] = true
					}
					matched = true
				}
			}
		}
		if !matched {
			return nil, usageError("--no-cache-filter %q matches no step line or stage name", v)
		}
	}
	return ids, nil
}
