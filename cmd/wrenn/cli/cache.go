package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/cache"
)

func init() { register(newCacheCmd) }

// cacheFlags are shared by every `wrenn cache` subcommand.
type cacheFlags struct {
	dir      string
	lockWait time.Duration
	// agent selection, for the commands that need one
	agentURL string
	token    string
	root     string
}

func newCacheCmd() *cobra.Command {
	f := &cacheFlags{}
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Inspect, check and bound the layer cache",
		Long: `The layer cache maps each step's layer key to the snapshot an agent holds
for it, with the step's text, source position, key preimage, size and use.
It lives in an embedded Badger store under --cache-dir (default
$XDG_CACHE_HOME/wrenn, else ~/.cache/wrenn).

Commands that only read the store (ls, inspect, du, explain) need no agent.
verify, prune, export and import also talk to the agent that holds the
snapshots: --agent URL (with --token, or $WRENN_TOKEN) for a running agent,
else an embedded local agent under --root (default $WRENN_ROOT or
/var/lib/wrenn).

One process at a time may open a cache directory. While a build holds it,
ls, inspect, du and explain read a snapshot copy (and say so on stderr);
verify, prune, export and import fail with a message naming the holder,
and --lock-wait makes them wait for it instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.dir, "cache-dir", "", "cache `DIR` (default $XDG_CACHE_HOME/wrenn or ~/.cache/wrenn)")
	pf.DurationVar(&f.lockWait, "lock-wait", 0, "wait up to `DURATION` for another process to release the cache directory")
	for _, sub := range []func(*cacheFlags) *cobra.Command{newCacheLsCmd, newCacheInspectCmd, newCacheDuCmd, newCacheExplainCmd, newCacheVerifyCmd, newCachePruneCmd, newCacheExportCmd, newCacheImportCmd} {
		cmd.AddCommand(sub(f))
	}
	return cmd
}

// addAgentFlags adds --agent, --token and --root to a command that needs
// the agent.
func (f *cacheFlags) addAgentFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.agentURL, "agent", "", "agent `URL` (http://host:port or unix:///path); default: an embedded agent under --root")
	fl.StringVar(&f.token, "token", "", "bearer `TOKEN` for --agent (default $WRENN_TOKEN)")
	fl.StringVar(&f.root, "root", "", "state `DIR` of the embedded agent (default $WRENN_ROOT or /var/lib/wrenn)")
}

// cacheDir is --cache-dir or the default.
func (f *cacheFlags) cacheDir() string {
	if f.dir != "" {
		return f.dir
	}
	return cache.DefaultDir()
}

// open opens the store; a held directory is reported without Badger's
// internals (cache.LockedError says who holds it).
func (f *cacheFlags) open() (*cache.BadgerStore, error) {
	s, err := cache.Open(f.cacheDir(), cache.Options{LockWait: f.lockWait})
	if err != nil {
		return nil, exitCode(ExitFailure, err)
	}
	return s, nil
}

// openAgent connects to the agent the flags choose.
func (f *cacheFlags) openAgent(ctx context.Context) (cache.AgentLayers, func(), error) {
	if f.agentURL != "" && f.root != "" {
		return nil, nil, usageError("--agent and --root choose different agents: give one")
	}
	if f.agentURL != "" {
		tok := f.token
		if tok == "" {
			tok = os.Getenv("WRENN_TOKEN")
		}
		c, err := agent.Dial(f.agentURL, tok)
		if err != nil {
			return nil, nil, usageError("%v", err)
		}
		return cacheAgent{c}, func() { c.Close() }, nil
	}
	if f.token != "" {
		return nil, nil, usageError("--token applies to --agent only")
	}
	root := f.root
	if root == "" {
		root = defaultRoot()
	}
	url, stop, err := startEmbeddedAgent(ctx, root, defaultRuntime())
	if err != nil {
		return nil, nil, exitCode(ExitFailure, fmt.Errorf("embedded agent under %s: %w", root, err))
	}
	c, err := agent.Dial(url, "")
	if err != nil {
		stop()
		return nil, nil, err
	}
	return cacheAgent{c}, func() { c.Close(); stop() }, nil
}

// defaultRoot is the embedded agent's state directory: $WRENN_ROOT, else
// /var/lib/wrenn.
func defaultRoot() string {
	if r := os.Getenv("WRENN_ROOT"); r != "" {
		return r
	}
	return "/var/lib/wrenn"
}

// withStore runs fn with the store open and closes it after.
func (f *cacheFlags) withStore(fn func(s *cache.BadgerStore) error) error {
	s, err := f.open()
	if err != nil {
		return err
	}
	err = fn(s)
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

// withReadStore is withStore for commands that only read (ls, inspect, du,
// explain): when another process holds the directory (a build), they read
// a snapshot copy of it instead of failing, and say so on stderr.
func (f *cacheFlags) withReadStore(stderr io.Writer, fn func(s *cache.BadgerStore) error) error {
	s, err := cache.Open(f.cacheDir(), cache.Options{LockWait: f.lockWait})
	var le *cache.LockedError
	if errors.As(err, &le) {
		s, err = cache.OpenSnapshot(f.cacheDir(), cache.Options{})
		if err == nil {
			who := "another process"
			if le.PID > 0 {
				who = fmt.Sprintf("process %d", le.PID)
			}
			fmt.Fprintf(stderr, "wrenn: note: %s holds %s; showing a snapshot taken now\n", who, le.Dir)
		}
	}
	if err != nil {
		return exitCode(ExitFailure, err)
	}
	err = fn(s)
	if cerr := s.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

// withStoreAndAgent also connects to the agent.
func (f *cacheFlags) withStoreAndAgent(ctx context.Context, fn func(s *cache.BadgerStore, a cache.AgentLayers) error) error {
	a, closeAgent, err := f.openAgent(ctx)
	if err != nil {
		return err
	}
	defer closeAgent()
	return f.withStore(func(s *cache.BadgerStore) error { return fn(s, a) })
}

// checkOutputFormat accepts only the given formats.
func checkOutputFormat(got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return usageError("unknown --format %q: want %s", got, joinOr(allowed))
}

func joinOr(list []string) string {
	switch len(list) {
	case 0:
		return ""
	case 1:
		return list[0]
	}
	s := ""
	for i, x := range list {
		switch {
		case i == 0:
			s = x
		case i == len(list)-1:
			s += " or " + x
		default:
			s += ", " + x
		}
	}
	return s
}
