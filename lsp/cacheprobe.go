package lsp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
)

// layerStore is what the lens reads from the layer cache.
type layerStore interface {
	Lookup(ctx context.Context, keys []string) (map[string]cache.Record, error)
	Bases(ctx context.Context) ([]cache.Base, error)
	Close() error
}

// openStore opens the cache for one read. A variable so unit tests can
// count opens; the real one is cache.Open without waiting for the lock.
var openStore = func(dir string) (layerStore, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("no layer cache at %s", dir)
	}
	return cache.Open(dir, cache.Options{})
}

// storeProbe computes each step's key as a build would (the base
// identities and environments the cache recorded from the agent, the
// build context's files) and looks the keys up.
//
// Badger lets one process at a time open a cache directory, and the cache
// package has no shared-reader mode, so the probe never keeps the cache
// open: it opens it without waiting, reads, and closes at once. While a
// build holds the cache, the lens says so instead of waiting.
type storeProbe struct {
	opts Options
	mu   sync.Mutex
	stat compiler.StatCache // file digests kept across requests
}

func newCacheProbe(opts Options) cacheProbe {
	return &storeProbe{opts: opts, stat: compiler.NewMemStatCache()}
}

func (p *storeProbe) Steps(ctx context.Context, f *lang.File) ([]stepStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	bctx, err := compiler.OpenContext(p.opts.Context, compiler.ContextOptions{StatCache: p.stat})
	if err != nil {
		return nil, err
	}
	st, err := openStore(p.opts.CacheDir)
	if err != nil {
		var le *cache.LockedError
		if errors.As(err, &le) {
			return nil, errors.New("in use by a build, shown again once it ends")
		}
		return nil, err
	}
	defer st.Close()
	bases, err := st.Bases(ctx)
	if err != nil {
		return nil, err
	}
	// The newest record of each template wins when several agents know it.
	known := map[string]cache.Base{}
	for _, b := range bases {
		if old, ok := known[b.Template]; !ok || b.Updated.After(old.Updated) {
			known[b.Template] = b
		}
	}
	envs := map[string]map[string]string{}
	for t, b := range known {
		if b.Env != nil {
			envs[t] = b.Env
		}
	}
	plan, _ := compiler.Compile(f, compiler.Options{
		BuildArgs: p.opts.BuildArgs,
		Context:   bctx,
		BaseEnvs:  envs,
		ResolveBase: func(t string) (digest.Digest, error) {
			if b, ok := known[t]; ok {
				return digest.Parse(b.Digest)
			}
			return "", fmt.Errorf("base template %s was never built here", t)
		},
	})
	var keys []string
	for _, s := range plan.Steps {
		keys = append(keys, s.Key.String())
	}
	recs, err := st.Lookup(ctx, keys)
	if err != nil {
		return nil, err
	}
	var out []stepStatus
	for _, s := range plan.Steps {
		if s.Range.End.Offset <= s.Range.Start.Offset {
			continue // hidden pre- and post-build steps have no line
		}
		_, ok := recs[s.Key.String()]
		out = append(out, stepStatus{Instr: s.Range, Key: s.Key.String(), Cached: ok})
	}
	return out, nil
}
