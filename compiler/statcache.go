package compiler

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/opencontainers/go-digest"
)

// FileStat is what a stat cache entry is valid for: when any of it
// changes, the file is read and hashed again.
type FileStat struct {
	Size    int64
	MtimeNS int64
	Inode   uint64
	Mode    uint32 // fs.FileMode bits
}

// StatCache remembers content digests of files on disk, so that re-keying
// an unchanged tree costs one lstat per file and no reads. The cache
// package implements it on Badger; MemStatCache and FileStatCache are the
// implementations for tests and for runs without a cache directory.
type StatCache interface {
	// Get returns the digest recorded for path if it was recorded with
	// exactly st.
	Get(path string, st FileStat) (digest.Digest, bool)
	Put(path string, st FileStat, d digest.Digest)
}

type statEntry struct {
	Stat   FileStat
	Digest digest.Digest
}

// MemStatCache is an in-memory StatCache, safe for concurrent use.
type MemStatCache struct {
	mu sync.Mutex
	m  map[string]statEntry
}

// NewMemStatCache returns an empty in-memory stat cache.
func NewMemStatCache() *MemStatCache { return &MemStatCache{m: map[string]statEntry{}} }

func (c *MemStatCache) Get(path string, st FileStat) (digest.Digest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[path]
	if !ok || e.Stat != st {
		return "", false
	}
	return e.Digest, true
}

func (c *MemStatCache) Put(path string, st FileStat, d digest.Digest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[path] = statEntry{Stat: st, Digest: d}
}

// Len is the number of entries.
func (c *MemStatCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// FileStatCache is a MemStatCache loaded from and saved to one JSON file,
// for the CLI when no Badger cache is open.
type FileStatCache struct {
	*MemStatCache
	path string
}

// statCacheVersion guards the file format.
const statCacheVersion = 2 // 1 was gob, whose package init every wrenn start paid for

type statCacheFile struct {
	Version int
	Entries map[string]statEntry
}

// OpenFileStatCache loads the cache at path; a missing file is an empty
// cache, and an unreadable or outdated one is discarded (it is only a cache).
func OpenFileStatCache(path string) (*FileStatCache, error) {
	c := &FileStatCache{MemStatCache: NewMemStatCache(), path: path}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open stat cache: %w", err)
	}
	defer f.Close()
	var sf statCacheFile
	if err := json.NewDecoder(f).Decode(&sf); err == nil && sf.Version == statCacheVersion && sf.Entries != nil {
		c.m = sf.Entries
	}
	return c, nil
}

// Save writes the cache atomically (a temporary file renamed over the old).
func (c *FileStatCache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".statcache-*")
	if err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := json.NewEncoder(tmp).Encode(statCacheFile{Version: statCacheVersion, Entries: c.m}); err != nil {
		tmp.Close()
		return fmt.Errorf("save stat cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("save stat cache: %w", err)
	}
	return nil
}
