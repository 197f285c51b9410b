package cache

import (
	"context"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/compiler"
)

// StatCache is the compiler's file-hash cache kept in a Store: a digest is
// remembered per (path, size, mtime, inode, mode), so hashing a build
// context reads only files that changed since the last build.
type StatCache struct {
	s   Store
	ctx context.Context
}

var _ compiler.StatCache = (*StatCache)(nil)

// NewStatCache returns a compiler.StatCache backed by s. Store errors make
// Get miss and Put do nothing: a stat cache failure costs time, never
// correctness.
func NewStatCache(ctx context.Context, s Store) *StatCache { return &StatCache{s: s, ctx: ctx} }

func statKey(path string, st compiler.FileStat) StatKey {
	return StatKey{Path: path, Size: st.Size, MTime: st.MtimeNS, Inode: st.Inode, Mode: st.Mode}
}

func (c *StatCache) Get(path string, st compiler.FileStat) (digest.Digest, bool) {
	d, ok, err := c.s.StatGet(c.ctx, statKey(path, st))
	if err != nil || !ok {
		return "", false
	}
	return digest.Digest(d), true
}

func (c *StatCache) Put(path string, st compiler.FileStat, d digest.Digest) {
	_ = c.s.StatPut(c.ctx, statKey(path, st), d.String())
}
