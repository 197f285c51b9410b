package compiler

import (
	"crypto/sha256"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"
)

// hashBufSize is the read size per worker: large enough that syscalls
// do not dominate, small enough to stay in cache.
const hashBufSize = 256 << 10

// racyWindow covers the coarsest mtime granularity of common filesystems.
const racyWindow = 2 * time.Second

// Hash computes the content digest of every regular file in entries that
// has none yet, on Workers goroutines. Files on disk whose stat matches the
// stat cache are not read.
func (c *Context) Hash(entries []*Entry) error {
	var todo []*Entry
	for _, e := range entries {
		if e.Type != TypeFile || e.Digest() != "" {
			continue
		}
		if e.abs != "" {
			if d, ok := c.opts.StatCache.Get(e.abs, e.stat); ok {
				e.setDigest(d)
				continue
			}
		} else {
			e.setDigest(digest.FromBytes(e.data))
			continue
		}
		todo = append(todo, e)
	}
	if len(todo) == 0 {
		return nil
	}
	// A file modified within the filesystem's timestamp granularity after
	// we read it keeps its size and mtime, so a digest of a file younger
	// than racyWindow is used but not remembered (git's "racily clean").
	racyBefore := time.Now().Add(-racyWindow)
	// A buffer larger than the largest file is never filled: a COPY of one
	// small file must not allocate hashBufSize.
	bufSize := int64(512)
	for _, e := range todo {
		bufSize = max(bufSize, e.Size+1)
	}
	bufSize = min(bufSize, hashBufSize)
	work := make(chan *Entry)
	var g errgroup.Group
	workers := min(c.opts.Workers, len(todo))
	for range workers {
		g.Go(func() error {
			buf := make([]byte, bufSize)
			var firstErr error
			for e := range work {
				if firstErr != nil {
					continue // drain
				}
				d, err := c.hashFile(e, buf)
				if err != nil {
					firstErr = err
					continue
				}
				e.setDigest(d)
				if racyBefore.UnixNano()-e.stat.MtimeNS > 0 {
					c.opts.StatCache.Put(e.abs, e.stat, d)
				}
			}
			return firstErr
		})
	}
	for _, e := range todo {
		work <- e
	}
	close(work)
	return g.Wait()
}

var hasherPool = sync.Pool{New: func() any { return sha256.New() }}

func (c *Context) hashFile(e *Entry, buf []byte) (digest.Digest, error) {
	f, err := c.opts.Open(e.abs)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", e.Path, err)
	}
	defer f.Close()
	h := hasherPool.Get().(interface {
		io.Writer
		Sum([]byte) []byte
		Reset()
	})
	defer hasherPool.Put(h)
	h.Reset()
	// Hide WriterTo so the worker's buffer is used, not a fresh one per file.
	n, err := io.CopyBuffer(h, struct{ io.Reader }{f}, buf)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", e.Path, err)
	}
	if n != e.Size {
		return "", fmt.Errorf("hash %s: file changed while reading (size %d, now %d)", e.Path, e.Size, n)
	}
	return digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil)), nil
}

func (e *Entry) setDigest(d digest.Digest) {
	e.mu.Lock()
	e.digest = d
	e.mu.Unlock()
}
