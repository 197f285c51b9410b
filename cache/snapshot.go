package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// ErrReadOnly is returned by writes to a store opened with OpenSnapshot.
var ErrReadOnly = errors.New("cache snapshot is read-only")

// OpenSnapshot opens a private, read-only, point-in-time copy of a cache
// directory that another process holds, so that `wrenn cache ls` and the
// other inspection commands work while a build runs. (Badger's own
// read-only mode takes a shared flock, which the writer's exclusive one
// excludes.)
//
// The copy reads every file (the manifest first; sparse regions stay
// sparse). Table files are not hard-linked, although they never change:
// Badger truncates a table to zero before it unlinks it, which would pull
// the data out from under the copy's memory maps (SIGBUS). Opening the
// copy replays the memtable logs up to the last complete write, as after
// a crash; a table the writer compacts away mid-copy, or a memtable it
// flushes (the manifest changed while copying), makes it retry.
// Close removes the copy.
func OpenSnapshot(dir string, opts Options) (*BadgerStore, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		tmp, err := os.MkdirTemp("", "wrenn-cache-snapshot-")
		if err != nil {
			return nil, err
		}
		if err := copyStoreDir(dir, tmp); err != nil {
			os.RemoveAll(tmp)
			lastErr = err
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, errStoreChanged) {
				continue // a compaction or flush changed the files mid-copy
			}
			return nil, fmt.Errorf("cannot snapshot cache directory %s: %w", dir, err)
		}
		// No compaction in a copy that lives for one command.
		db, err := badger.Open(badgerOptions(tmp, opts.Logf).WithNumCompactors(0))
		if err != nil {
			os.RemoveAll(tmp)
			lastErr = err
			continue
		}
		return &BadgerStore{dir: dir, db: db, snapshotDir: tmp}, nil
	}
	return nil, fmt.Errorf("cannot snapshot cache directory %s while it changes: %v", dir, firstLine(lastErr))
}

// errStoreChanged: the writer changed the set of tables while the
// directory was copied.
var errStoreChanged = errors.New("the store's tables changed during the copy")

// copyStoreDir copies a Badger directory: MANIFEST first, so that every
// table it names is copied afterwards or the copy fails with ErrNotExist.
// A memtable flushed to a table during the copy would be in neither the
// copied manifest nor the listing (its log is deleted after the flush),
// while later writes in the next memtable are copied: a record rewritten
// there would appear without what the flushed memtable held (its
// preimage). A flush always appends to MANIFEST before it deletes the log,
// so an unchanged MANIFEST at the end proves the copy is whole.
func copyStoreDir(src, dst string) error {
	if err := copyFileSparse(filepath.Join(src, "MANIFEST"), filepath.Join(dst, "MANIFEST")); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if name == "MANIFEST" || name == "LOCK" || e.IsDir() || strings.HasSuffix(name, ".tmp") {
			continue
		}
		if err := copyFileSparse(filepath.Join(src, name), filepath.Join(dst, name)); err != nil {
			return err
		}
	}
	before, err := os.ReadFile(filepath.Join(dst, "MANIFEST"))
	if err != nil {
		return err
	}
	after, err := os.ReadFile(filepath.Join(src, "MANIFEST"))
	if err != nil {
		return err
	}
	if !bytes.Equal(before, after) {
		return errStoreChanged
	}
	return nil
}

// copyFileSparse copies a file, seeking over blocks of zeros so that the
// preallocated memtable and value log files cost no disk space.
func copyFileSparse(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	var size int64
	for {
		n, rerr := io.ReadFull(in, buf)
		if n > 0 {
			if allZero(buf[:n]) {
				if _, err := out.Seek(int64(n), io.SeekCurrent); err != nil {
					out.Close()
					return err
				}
			} else if _, err := out.Write(buf[:n]); err != nil {
				out.Close()
				return err
			}
			size += int64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			out.Close()
			return rerr
		}
	}
	if err := out.Truncate(size); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
