package cache

import (
	"context"
	"path/filepath"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/compiler"
)

// StatCache is the compiler's file-hash cache kept in a Store: a digest is
// remembered per (path, size, mtime, inode, mode), so hashing a build
// context reads only files that changed since the last build.
//
// With a root (Under), the first Get reads every entry below the root in
// one scan and later Gets below it are answered from memory, and Puts are
// held until Flush writes them in one transaction: a context of thousands
// of files costs one read and one write of the store instead of one each
// per file. Without a root every Get and Put goes to the store.
type StatCache struct {
	s   Store
	ctx context.Context

	mu      sync.Mutex
	root    string // "" when not set
	loaded  bool
	mem     map[StatKey]string // entries below root, once loaded
	pending map[StatKey]string // Puts not yet flushed
}

var _ compiler.StatCache = (*StatCache)(nil)

// NewStatCache returns a compiler.StatCache backed by s. Store errors make
// Get miss and Put do nothing: a stat cache failure costs time, never
// correctness.
func NewStatCache(ctx context.Context, s Store) *StatCache { return &StatCache{s: s, ctx: ctx} }

// Under makes c read the entries below dir (a build context's directory)
// with one scan on first use, and hold Puts for Flush. It returns c.
func (c *StatCache) Under(dir string) *StatCache {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.root, c.loaded, c.mem = dir, false, nil
	return c
}

func statKey(path string, st compiler.FileStat) StatKey {
	return StatKey{Path: path, Size: st.Size, MTime: st.MtimeNS, Inode: st.Inode, Mode: st.Mode}
}

// below reports whether path is covered by the root's preload.
func (c *StatCache) below(path string) bool {
	if c.root == "" {
		return false
	}
	return path == c.root || strings.HasPrefix(path, strings.TrimSuffix(c.root, "/")+"/")
}

func (c *StatCache) Get(path string, st compiler.FileStat) (digest.Digest, bool) {
	k := statKey(path, st)
	c.mu.Lock()
	if c.below(path) {
		defer c.mu.Unlock()
		if d, ok := c.pending[k]; ok {
			return digest.Digest(d), true
		}
		if !c.loaded {
			c.loaded = true
			mem := map[StatKey]string{}
			if err := c.s.StatScan(c.ctx, c.root, func(k StatKey, d string) error {
				mem[k] = d
				return nil
			}); err != nil {
				mem = map[StatKey]string{} // a failed scan is all misses
			}
			c.mem = mem
		}
		d, ok := c.mem[k]
		return digest.Digest(d), ok
	}
	c.mu.Unlock()
	d, ok, err := c.s.StatGet(c.ctx, k)
	if err != nil || !ok {
		return "", false
	}
	return digest.Digest(d), true
}

func (c *StatCache) Put(path string, st compiler.FileStat, d digest.Digest) {
	k := statKey(path, st)
	c.mu.Lock()
	if c.root != "" {
		if c.pending == nil {
			c.pending = map[StatKey]string{}
		}
		c.pending[k] = d.String()
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	_ = c.s.StatPut(c.ctx, k, d.String())
}

// Flush writes the held Puts to the store in one transaction (a few for
// very large contexts). Call it before closing the store; without it the
// digests are lost (the next build hashes those files again).
func (c *StatCache) Flush() error {
	c.mu.Lock()
	p := c.pending
	c.pending = nil
	for k, d := range p {
		if c.mem != nil {
			c.mem[k] = d
		}
	}
	c.mu.Unlock()
	if len(p) == 0 {
		return nil
	}
	return c.s.StatPutAll(c.ctx, p)
}
