package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/agent/local"
)

func init() { register(newAgentCmd) }

func newAgentCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the host agent that sandboxes and builds run on",
		Long: `The host agent runs sandboxes for builds: it serves the production
hostagent.v1 API plus wrenn's layer service over connect (HTTP/1.1 and h2c,
gRPC, gRPC-Web, JSON or binary), backed by overlayfs layers and runc
containers on this machine.

wrenn build runs an agent in-process by default; 'wrenn agent serve' runs one
for several builders or machines to share (wrenn build --agent URL).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newAgentServeCmd())
	return cmd
}

func newAgentServeCmd() *cobra.Command {
	var (
		listen, root, token, network, socketMode string
		runtime                                  string
		insecure                                 bool
		maxWrite                                 int64
	)
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR] [--root DIR] [--token TOKEN]",
		Short: "Serve sandboxes over connect from a local overlayfs + runc backend",
		Long: `Serve runs the host agent until SIGTERM or SIGINT, then stops accepting
calls, destroys its sandboxes and exits 0.

ADDR is host:port or unix:///path/to/socket. The default, 127.0.0.1:7411,
only accepts connections from this machine. Listening on another interface
must be asked for by name (0.0.0.0:7411, or an address of this host), and
then needs --token: the agent runs commands as root for whoever can reach
it. A unix socket is created with mode --socket-mode (0600: root only),
replacing a stale socket a crashed agent left behind.

With a token (--token or $WRENN_AGENT_TOKEN), every call must carry
"Authorization: Bearer TOKEN"; clients use 'wrenn build --agent URL --token T'.

RUNTIME (--runtime, default $WRENN_RUNTIME or runc) is the OCI runtime the
sandboxes' containers run with: runc, or crun, which takes a third to a
half of runc's time per container (each build step without START is one
container: ~8 ms against ~22 ms, docs/benchmarks.md). The agent checks at
start that it is one of the two ('RUNTIME --version').

DIR (--root, default $WRENN_ROOT or /var/lib/wrenn) holds the base
templates, layers and snapshots. On start the agent cleans up what a previous
run that crashed left there: mounts, containers and half-written layers.
The agent's identity, which caches use to know where a layer lives, is kept
in DIR/agent-id.

The first line on stdout says where the agent listens:
  wrenn agent: listening on http://127.0.0.1:7411

Exit codes: 0 after a clean shutdown, 1 when the agent cannot start or
fails, 2 usage error.`,
		Example: `  # loopback only, the default
  wrenn agent serve --root /var/lib/wrenn

  # a socket for local builders
  wrenn agent serve --listen unix:///run/wrenn/agent.sock

  # for other machines: name the interface and require a token
  WRENN_AGENT_TOKEN=$(cat /etc/wrenn/token) wrenn agent serve --listen 0.0.0.0:7411`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token == "" {
				token = os.Getenv("WRENN_AGENT_TOKEN")
			}
			addr, err := agent.ParseAddress(listen)
			if err != nil {
				return usageError("--listen: %v", err)
			}
			if !addr.Loopback() && token == "" && !insecure {
				return usageError("--listen %s reaches other machines: set --token (or WRENN_AGENT_TOKEN), since the agent runs commands as root for any caller; --insecure-no-token accepts the risk", listen)
			}
			mode, err := strconv.ParseUint(socketMode, 8, 32)
			if err != nil || mode == 0 || mode > 0o777 {
				return usageError("--socket-mode %q: want octal permission bits such as 0600 or 0660", socketMode)
			}
			if network != local.NetworkHost && network != local.NetworkNone {
				return usageError("--network %q: want host or none", network)
			}
			if root == "" {
				return usageError("--root is empty")
			}
			if err := checkRuntime(runtime); err != nil {
				return err
			}
			return serveAgent(cmd, agentServeConfig{
				addr: addr, root: root, token: token, network: network, runtime: runtime,
				socketMode: os.FileMode(mode), maxWrite: maxWrite,
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", agent.DefaultListen, "`ADDR` to listen on: host:port or unix:///path")
	f.StringVar(&root, "root", defaultRoot(), "`DIR` holding templates, layers and sandboxes (env WRENN_ROOT)")
	f.StringVar(&token, "token", "", "require this bearer `TOKEN` on every call (env WRENN_AGENT_TOKEN)")
	f.StringVar(&network, "network", "host", "sandbox network: host (share the host's) or none (loopback only)")
	addRuntimeFlag(f, &runtime)
	f.StringVar(&socketMode, "socket-mode", "0600", "permission bits of a unix socket (octal)")
	f.BoolVar(&insecure, "insecure-no-token", false, "allow a non-loopback --listen without a token")
	f.Int64Var(&maxWrite, "max-write-file", agent.DefaultMaxWriteFileBytes, "largest WriteFile content in `BYTES`")
	return cmd
}

type agentServeConfig struct {
	addr       agent.Address
	root       string
	token      string
	network    string
	runtime    string
	socketMode os.FileMode
	maxWrite   int64
}

func serveAgent(cmd *cobra.Command, cfg agentServeConfig) error {
	ctx := cmd.Context()
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	b, err := local.New(local.Options{Root: cfg.root, Network: cfg.network, Runtime: cfg.runtime, Logger: log})
	if err != nil {
		return exitCode(ExitFailure, fmt.Errorf("agent root %s: %w", cfg.root, err))
	}
	closeBackend := func() error {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return b.Close(cctx)
	}
	ln, err := agent.Listen(cfg.addr, agent.ListenOptions{SocketMode: cfg.socketMode})
	if err != nil {
		return exitCode(ExitFailure, errors.Join(fmt.Errorf("listen: %w", err), closeBackend()))
	}
	where := cfg.addr
	if where.Network == "tcp" {
		where.Addr = ln.Addr().String() // the real port when asked for :0
	}
	fmt.Fprintf(stdout, "wrenn agent: listening on %s\n", where.URL())
	if !where.Loopback() && cfg.token == "" {
		fmt.Fprintln(stderr, "wrenn agent: warning: no token, and reachable from other machines")
	}
	h := agent.NewServer(b,
		agent.WithToken(cfg.token),
		agent.WithAgentID(b.AgentID()),
		agent.WithVersion(versionString()),
		agent.WithLogger(log),
		agent.WithMaxWriteFileBytes(cfg.maxWrite))
	serveErr := agent.Serve(ctx, ln, h)
	closeErr := closeBackend()
	if err := errors.Join(serveErr, closeErr); err != nil {
		return exitCode(ExitFailure, err)
	}
	fmt.Fprintln(stdout, "wrenn agent: stopped; sandboxes destroyed")
	return nil
}
