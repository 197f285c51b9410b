package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/service"
	"wrenn.dev/wrenn/service/execrunner"
)

func init() { register(newServeCmd) }

type serveFlags struct {
	listen, root, cacheDir, token, queue, agentToken string
	runtime                                          string
	agents                                           []string
	workers                                          int
	maxArchive                                       int64
	retention, leaseTTL                              time.Duration
}

func newServeCmd() *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Run the build service (wrenn.build.v1) with a durable queue",
		Long: `serve runs the build service: builds are validated at create time, queued
durably (Badger under <cache-dir>/service, or Redis with --queue redis://…,
where several controllers share records and queue and take over the builds
of one that dies, after --lease-ttl),
run by --workers workers on the least loaded agent, and survive restarts
(running builds are re-queued and resume from their cached layers).

Without --agent the local agent runs in this process under --root (default
$WRENN_ROOT or /var/lib/wrenn), its containers run by --runtime (runc, or
crun: faster). A build's uploaded archive is deleted when the build ends;
its record and log are kept for --retention (7 days by default), then
pruned. See docs/service.md.

Examples:
  wrenn serve --workers 4 --root /var/lib/wrenn --token "$WRENN_TOKEN"
  wrenn serve --agent http://10.0.0.5:5007 --agent http://10.0.0.6:5007 --retention 720h
  wrenn serve --queue redis://127.0.0.1:6379/0   # several controllers share the queue`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "`ADDR` to serve the API on")
	fl.IntVar(&f.workers, "workers", 1, "builds run at once")
	fl.StringVar(&f.root, "root", "", "state `DIR` of the embedded agent")
	addRuntimeFlag(fl, &f.runtime)
	fl.StringArrayVar(&f.agents, "agent", nil, "run builds on the agent at `URL` (repeatable)")
	fl.StringVar(&f.agentToken, "agent-token", "", "bearer `TOKEN` for --agent")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "layer cache `DIR` (default: the user cache directory)")
	fl.StringVar(&f.token, "token", os.Getenv("WRENN_TOKEN"), "bearer `TOKEN` clients must send (default $WRENN_TOKEN)")
	fl.StringVar(&f.queue, "queue", "badger", "queue backend: badger or redis://HOST:PORT/DB")
	fl.DurationVar(&f.retention, "retention", service.DefaultRetention, "keep finished builds' records and logs this long (0: forever)")
	fl.DurationVar(&f.leaseTTL, "lease-ttl", service.DefaultLeaseTTL, "with --queue redis: a dead controller's builds are taken back this long after its last heartbeat")
	fl.Int64Var(&f.maxArchive, "max-archive-bytes", service.DefaultMaxArchiveBytes, "largest archive a build may upload")
	return cmd
}

func runServe(cmd *cobra.Command, f *serveFlags) error {
	if f.workers < 1 {
		return usageError("--workers must be at least 1")
	}
	if f.queue != "badger" && !strings.HasPrefix(f.queue, "redis://") && !strings.HasPrefix(f.queue, "rediss://") {
		return usageError("--queue %q: want badger or redis://…", f.queue)
	}
	if len(f.agents) > 0 && f.root == "" && cmd.Flags().Changed("runtime") {
		return usageError("--runtime is the embedded agent's, and with only --agent none runs: add --root, or give the runtime to 'wrenn agent serve'")
	}
	if err := checkRuntime(f.runtime); err != nil {
		return err
	}
	ctx, stopSignals := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	bg := context.WithoutCancel(ctx)

	cacheDir := f.cacheDir
	if cacheDir == "" {
		cacheDir = cache.DefaultDir()
	}
	layers, err := cache.Open(cacheDir, cache.Options{LockWait: 30 * time.Second})
	if err != nil {
		return exitCode(ExitFailure, err)
	}
	defer layers.Close()
	// Records and queue: the embedded Badger store, or Redis shared by
	// several controllers (records, queue and leases all in Redis).
	var st service.Records
	var q service.Queue
	if f.queue == "badger" {
		bst, err := service.OpenStore(filepath.Join(cacheDir, "service"))
		if err != nil {
			return exitCode(ExitFailure, err)
		}
		defer bst.Close()
		st = bst
		if q, err = service.NewBadgerQueue(bst); err != nil {
			return exitCode(ExitFailure, err)
		}
	} else {
		rq, err := service.NewRedisQueue(ctx, f.queue, f.leaseTTL)
		if err != nil {
			return exitCode(ExitFailure, err)
		}
		st, q = service.NewRedisStore(rq.Client(), ""), rq
	}
	defer q.Close()

	var hosts []*execrunner.Host
	if len(f.agents) == 0 || f.root != "" {
		root := f.root
		if root == "" {
			root = defaultRoot()
		}
		u, stop, err := startEmbeddedAgent(bg, root, f.runtime)
		if err != nil {
			return exitCode(ExitFailure, fmt.Errorf("embedded agent on %s: %w", root, err))
		}
		defer stop()
		c, err := agent.Dial(u, "")
		if err != nil {
			return exitCode(ExitFailure, err)
		}
		defer c.Close()
		hosts = append(hosts, &execrunner.Host{Name: "local:" + root, Agent: c})
	}
	for _, u := range f.agents {
		c, err := agent.Dial(u, f.agentToken)
		if err != nil {
			return exitCode(ExitFailure, fmt.Errorf("--agent %s: %w", u, err))
		}
		defer c.Close()
		hosts = append(hosts, &execrunner.Host{Name: u, Agent: c})
	}
	runner, err := execrunner.New(layers, hosts...)
	if err != nil {
		return exitCode(ExitFailure, err)
	}

	errOut := cmd.ErrOrStderr()
	svc, err := service.New(service.Config{
		Store: st, Queue: q, Runner: runner, Templates: runner, Workers: f.workers, MaxArchiveBytes: f.maxArchive,
		Retention: f.retention,
		Logf:      func(format string, args ...any) { fmt.Fprintf(errOut, "wrenn serve: "+format+"\n", args...) },
	})
	if err != nil {
		return exitCode(ExitFailure, err)
	}
	if err := svc.Recover(ctx); err != nil {
		return exitCode(ExitFailure, fmt.Errorf("recover builds: %w", err))
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return exitCode(ExitFailure, err)
	}
	srv := service.NewHTTPServer(svc.Handler(f.token))
	workCtx, stopWork := context.WithCancel(bg)
	svc.Start(workCtx)
	fmt.Fprintf(cmd.OutOrStdout(), "wrenn serve: listening on http://%s (%d workers, %d agents, queue %s)\n",
		ln.Addr(), f.workers, len(hosts), strings.SplitN(f.queue, "@", 2)[len(strings.SplitN(f.queue, "@", 2))-1])
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	// Shutdown: stop taking requests, end running builds' contexts (they
	// stay "running" and are re-queued on the next start).
	sctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	stopWork()
	q.Close()
	svc.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return exitCode(ExitFailure, err)
	}
	return nil
}
