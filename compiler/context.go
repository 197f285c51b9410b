package compiler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/opencontainers/go-digest"
)

// IgnoreFile is the name of the build context's ignore file (dockerignore
// syntax). Matching files never enter a key and never travel to a sandbox.
const IgnoreFile = ".wrennignore"

// EntryType is the kind of a build-context entry.
type EntryType string

const (
	TypeFile    EntryType = "file"
	TypeDir     EntryType = "dir"
	TypeSymlink EntryType = "symlink"
)

// Entry is one file, directory or symlink of a build context.
type Entry struct {
	// Path is relative to the context root, slash-separated, cleaned;
	// "." is the root.
	Path string
	Type EntryType
	// Mode holds the permission bits plus setuid, setgid and sticky (07777).
	Mode uint32
	Size int64
	Link string // symlink target

	abs  string   // directory contexts: the file on disk
	stat FileStat // directory contexts: what the stat cache is keyed by
	data []byte   // archive contexts: the content

	mu     sync.Mutex
	digest digest.Digest
}

// Digest returns the content digest once Hash has computed it ("" for
// directories and symlinks, and before hashing).
func (e *Entry) Digest() digest.Digest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.digest
}

// ContextOptions control OpenContext.
type ContextOptions struct {
	// StatCache remembers file digests by (path, size, mtime, inode, mode)
	// so that unchanged files are not read again. nil: a fresh in-memory one.
	StatCache StatCache
	// Workers hash files in parallel; 0 is GOMAXPROCS.
	Workers int
	// Open opens a file of a directory context for hashing; nil is os.Open.
	// Tests count reads through it.
	Open func(name string) (io.ReadCloser, error)
	// MaxEntries and MaxBytes bound an archive context (entry count and
	// total uncompressed size) against archive bombs; 0 picks the defaults
	// (1,000,000 entries, 4 GiB).
	MaxEntries int
	MaxBytes   int64
	// Exclude names directories (absolute, cleaned) a directory context
	// leaves out with everything below them: wrenn's own state (the
	// agent's root, the cache) when it lies inside the context. They
	// change while the build runs and are never the project's files.
	Exclude []string
}

// Default archive limits.
const (
	DefaultMaxEntries = 1_000_000
	DefaultMaxBytes   = 4 << 30
)

// Context is a build context: the files COPY can select, from a directory
// or an archive, minus what .wrennignore excludes.
type Context struct {
	// Source is the directory or archive path ("" for in-memory archives).
	Source string
	// Format is "dir", "tar", "tar.gz" or "zip".
	Format  string
	entries map[string]*Entry
	paths   []string // sorted
	// excluded are the ContextOptions.Exclude directories found inside
	// the context, relative, for a clearer error when a COPY names one.
	excluded []string
	opts     ContextOptions
}

// OpenContext opens a build context: a directory, or an archive file
// (tar, tar.gz or zip, told apart by magic bytes as the seed does).
func OpenContext(p string, opts ContextOptions) (*Context, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("open build context: %w", err)
	}
	if !st.IsDir() {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("open build context: %w", err)
		}
		c, err := OpenArchive(data, opts)
		if err != nil {
			return nil, err
		}
		c.Source = p
		return c, nil
	}
	return openDir(p, opts)
}

func (o *ContextOptions) defaults() {
	if o.StatCache == nil {
		o.StatCache = NewMemStatCache()
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Open == nil {
		o.Open = func(name string) (io.ReadCloser, error) { return os.Open(name) }
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
}

func newContext(format string, opts ContextOptions) *Context {
	opts.defaults()
	c := &Context{Format: format, entries: map[string]*Entry{}, opts: opts}
	c.entries["."] = &Entry{Path: ".", Type: TypeDir, Mode: 0o755}
	return c
}

// openDir walks a directory once, recording every entry .wrennignore
// keeps. Contents are read only when a COPY selects a file (Hash).
func openDir(root string, opts ContextOptions) (*Context, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open build context: %w", err)
	}
	c := newContext("dir", opts)
	c.Source = root
	var ign *patternmatcher.PatternMatcher
	if b, err := os.ReadFile(filepath.Join(abs, IgnoreFile)); err == nil {
		if ign, err = parseIgnore(b); err != nil {
			return nil, err
		}
	}
	exclude := map[string]bool{}
	for _, x := range opts.Exclude {
		exclude[filepath.Clean(x)] = true
	}
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != abs && errors.Is(err, fs.ErrNotExist) {
				return nil // removed while the walk ran: not in the context
			}
			return fmt.Errorf("read build context: %w", err)
		}
		if p == abs {
			return nil
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if exclude[p] {
			c.excluded = append(c.excluded, rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if ign != nil {
			skip, err := ign.MatchesOrParentMatches(rel)
			if err != nil {
				return fmt.Errorf("%s: %w", IgnoreFile, err)
			}
			if skip {
				if d.IsDir() && !ign.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed between the directory read and the lstat
		}
		if err != nil {
			return fmt.Errorf("read build context: %w", err)
		}
		e := &Entry{Path: rel, abs: p, Mode: modeBits(info.Mode()), stat: statOf(info)}
		switch {
		case info.Mode().IsRegular():
			e.Type, e.Size = TypeFile, info.Size()
		case info.IsDir():
			e.Type = TypeDir
		case info.Mode()&fs.ModeSymlink != 0:
			e.Type = TypeSymlink
			if e.Link, err = os.Readlink(p); errors.Is(err, fs.ErrNotExist) {
				return nil
			} else if err != nil {
				return fmt.Errorf("read build context: %w", err)
			}
		default:
			return nil // devices, sockets and fifos cannot be copied
		}
		c.entries[rel] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.finish()
	return c, nil
}

func parseIgnore(b []byte) (*patternmatcher.PatternMatcher, error) {
	patterns, err := ignorefile.ReadAll(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", IgnoreFile, err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", IgnoreFile, err)
	}
	return pm, nil
}

// finish sorts the entry list and adds missing parent directories.
func (c *Context) finish() {
	for p := range c.entries {
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := c.entries[d]; ok {
				break
			}
			c.entries[d] = &Entry{Path: d, Type: TypeDir, Mode: 0o755}
		}
	}
	c.paths = make([]string, 0, len(c.entries))
	for p := range c.entries {
		c.paths = append(c.paths, p)
	}
	sort.Strings(c.paths)
}

// Len is the number of entries (the root included).
func (c *Context) Len() int { return len(c.entries) }

// excludedAt returns the excluded directory src is, or lies below, or "".
func (c *Context) excludedAt(src string) string {
	for _, x := range c.excluded {
		if src == x || strings.HasPrefix(src, x+"/") {
			return x
		}
	}
	return ""
}

// Lookup returns the entry at a cleaned relative path.
func (c *Context) Lookup(p string) (*Entry, bool) {
	e, ok := c.entries[p]
	return e, ok
}

// children returns the entries under dir (not dir itself), sorted.
func (c *Context) under(dir string) []*Entry {
	var out []*Entry
	if dir == "." {
		for _, p := range c.paths {
			if p != "." {
				out = append(out, c.entries[p])
			}
		}
		return out
	}
	prefix := dir + "/"
	i := sort.SearchStrings(c.paths, prefix)
	for ; i < len(c.paths) && strings.HasPrefix(c.paths[i], prefix); i++ {
		out = append(out, c.entries[c.paths[i]])
	}
	return out
}

func modeBits(m fs.FileMode) uint32 {
	b := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}

func statOf(info fs.FileInfo) FileStat {
	st := FileStat{Size: info.Size(), MtimeNS: info.ModTime().UnixNano(), Mode: uint32(info.Mode())}
	if sys, ok := info.Sys().(*syscall.Stat_t); ok {
		st.Inode = sys.Ino
	}
	return st
}
