package local

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// OCI whiteout names: layers leave the agent with these and come back as
// overlay whiteouts (0/0 character devices) and opaque xattrs.
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
)

// treeStats is what a walk of a directory reports.
type treeStats struct {
	Digest string // sha256 of the canonical tar (times zeroed)
	Size   int64  // disk usage (du): allocated blocks of unique inodes
}

// digestTree hashes dir as a canonical tar stream: entries in lexical
// order; path, type, mode, owner, symlink target, device numbers, xattrs and
// content; never times. Whiteouts and opaque directories are in their OCI
// form, so a layer's digest is the same before export and after import.
func digestTree(dir string) (treeStats, error) {
	h := sha256.New()
	st, err := writeTree(dir, h, true)
	if err != nil {
		return treeStats{}, err
	}
	st.Digest = fmt.Sprintf("sha256:%x", h.Sum(nil))
	return st, nil
}

// writeTree writes dir as a tar stream to w (zeroTimes: for digests).
//
// It is a pipeline, so that the walk and the reads (system calls and
// copies) run on another core while w (a sha256, for a digest) consumes:
// a walker lists the entries in order with their headers, a reader sends
// each entry's headers and then its content in chunks, and this goroutine
// writes them to the tar. At most treeQueue items are in flight.
func writeTree(dir string, w io.Writer, zeroTimes bool) (treeStats, error) {
	done := make(chan struct{})
	defer close(done) // stops the walker and reader on an early return
	entries := make(chan treeEntry, treeQueue)
	items := make(chan treeItem, treeQueue)
	var st treeStats
	walkErr := make(chan error, 1)
	go func() {
		defer close(entries)
		walkErr <- walkTree(dir, zeroTimes, &st, entries, done)
	}()
	go readTree(entries, items, done)

	tw := tar.NewWriter(w)
	var want int64 // content bytes the current entry still owes
	var cur string
	for it := range items {
		if it.err != nil {
			return treeStats{}, it.err
		}
		if it.hdrs != nil {
			if want != 0 {
				return treeStats{}, fmt.Errorf("%s changed while being read", cur)
			}
			for _, hdr := range it.hdrs {
				if err := tw.WriteHeader(hdr); err != nil {
					return treeStats{}, err
				}
			}
			want, cur = it.size, it.full
			continue
		}
		if _, err := tw.Write((*it.buf)[:it.n]); err != nil {
			return treeStats{}, err
		}
		want -= int64(it.n)
		chunkPool.Put(it.buf)
	}
	if want != 0 {
		return treeStats{}, fmt.Errorf("%s changed while being read", cur)
	}
	if err := <-walkErr; err != nil {
		return treeStats{}, err
	}
	return st, tw.Close()
}

// treeQueue bounds each stage of writeTree's pipeline (with 256 KB chunks,
// at most 16 MB of content in flight).
const treeQueue = 64

// treeEntry is one walked file: its tar headers (the last one carries the
// content, if any) and the content's size.
type treeEntry struct {
	full string
	hdrs []*tar.Header
	size int64
}

// treeItem is the next thing to write: an entry's headers, a chunk of its
// content, or the error that stops the stream.
type treeItem struct {
	full string
	hdrs []*tar.Header
	size int64
	buf  *[]byte // a chunkPool buffer holding n bytes of content
	n    int
	err  error
}

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// walkTree sends dir's entries in lexical order and adds up their disk
// usage in st.
func walkTree(dir string, zeroTimes bool, st *treeStats, out chan<- treeEntry, done <-chan struct{}) error {
	seen := map[[2]uint64]string{} // (dev, ino) -> first name, for hardlinks
	return filepath.WalkDir(dir, func(full string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, full)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		var sys unix.Stat_t
		if err := unix.Lstat(full, &sys); err != nil {
			return err
		}
		key := [2]uint64{sys.Dev, sys.Ino}
		if _, dup := seen[key]; !dup || sys.Mode&unix.S_IFMT == unix.S_IFDIR {
			st.Size += sys.Blocks * 512
		}
		hdrs, err := entryHeaders(full, filepath.ToSlash(rel), &sys, seen)
		if err != nil {
			return err
		}
		e := treeEntry{full: full, hdrs: hdrs}
		for _, hdr := range hdrs {
			if zeroTimes {
				hdr.ModTime = time.Unix(0, 0)
			} else {
				hdr.ModTime = time.Unix(sys.Mtim.Sec, sys.Mtim.Nsec)
			}
			hdr.Format = tar.FormatPAX
			if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
				e.size = hdr.Size
			}
		}
		select {
		case out <- e:
			return nil
		case <-done:
			return errors.New("tree walk stopped")
		}
	})
}

// readTree forwards each entry's headers, then its content in chunks, in
// the order the walker sent them.
func readTree(in <-chan treeEntry, out chan<- treeItem, done <-chan struct{}) {
	defer close(out)
	send := func(it treeItem) bool {
		select {
		case out <- it:
			return true
		case <-done:
			return false
		}
	}
	for e := range in {
		if !send(treeItem{full: e.full, hdrs: e.hdrs, size: e.size}) {
			return
		}
		if e.size == 0 {
			continue
		}
		f, err := os.Open(e.full)
		if err != nil {
			send(treeItem{err: err})
			return
		}
		left := e.size
		for left > 0 {
			buf := chunkPool.Get().(*[]byte)
			n, err := io.ReadFull(f, (*buf)[:min(int64(len(*buf)), left)])
			if n > 0 {
				if !send(treeItem{buf: buf, n: n}) {
					f.Close()
					return
				}
				left -= int64(n)
			}
			if err != nil {
				f.Close()
				if err == io.ErrUnexpectedEOF || err == io.EOF {
					err = fmt.Errorf("%s changed while being read", e.full)
				}
				send(treeItem{err: err})
				return
			}
		}
		f.Close()
	}
}

// entryHeaders returns the tar headers for one file: usually one; a
// whiteout becomes an empty .wh.<name> file; an opaque directory is
// followed by its .wh..wh..opq marker.
func entryHeaders(full, rel string, sys *unix.Stat_t, seen map[[2]uint64]string) ([]*tar.Header, error) {
	mode := int64(sys.Mode & 0o7777)
	hdr := &tar.Header{Name: rel, Mode: mode, Uid: int(sys.Uid), Gid: int(sys.Gid)}
	switch sys.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case unix.S_IFREG:
		key := [2]uint64{sys.Dev, sys.Ino}
		if first, ok := seen[key]; ok && sys.Nlink > 1 {
			hdr.Typeflag = tar.TypeLink
			hdr.Linkname = first
		} else {
			if sys.Nlink > 1 {
				seen[key] = rel
			}
			hdr.Typeflag = tar.TypeReg
			hdr.Size = sys.Size
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(full)
		if err != nil {
			return nil, err
		}
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = target
	case unix.S_IFCHR:
		if sys.Rdev == 0 { // overlay whiteout
			dir, base := path.Split(rel)
			return []*tar.Header{{Name: dir + whiteoutPrefix + base, Typeflag: tar.TypeReg, Mode: 0o600}}, nil
		}
		hdr.Typeflag = tar.TypeChar
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(sys.Rdev)), int64(unix.Minor(sys.Rdev))
	case unix.S_IFBLK:
		hdr.Typeflag = tar.TypeBlock
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(sys.Rdev)), int64(unix.Minor(sys.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	case unix.S_IFSOCK:
		return nil, nil // sockets are not content
	default:
		return nil, fmt.Errorf("%s: unsupported file type %o", full, sys.Mode&unix.S_IFMT)
	}
	xattrs, opaque, err := readXattrs(full)
	if err != nil {
		return nil, err
	}
	if len(xattrs) > 0 {
		hdr.PAXRecords = map[string]string{}
		for k, v := range xattrs {
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
	}
	out := []*tar.Header{hdr}
	if opaque {
		out = append(out, &tar.Header{Name: rel + "/" + opaqueMarker, Typeflag: tar.TypeReg, Mode: 0o600})
	}
	return out, nil
}

// readXattrs returns a file's extended attributes except overlay's own,
// and whether the directory is marked opaque.
func readXattrs(full string) (map[string]string, bool, error) {
	sz, err := unix.Llistxattr(full, nil)
	if err != nil || sz == 0 {
		if err == unix.ENOTSUP {
			err = nil
		}
		return nil, false, err
	}
	buf := make([]byte, sz)
	sz, err = unix.Llistxattr(full, buf)
	if err != nil {
		return nil, false, err
	}
	names := strings.Split(strings.TrimRight(string(buf[:sz]), "\x00"), "\x00")
	sort.Strings(names)
	out := map[string]string{}
	opaque := false
	for _, name := range names {
		if name == "" {
			continue
		}
		val, err := lgetxattr(full, name)
		if err != nil {
			return nil, false, err
		}
		if name == opaqueXattr {
			opaque = val == "y"
			continue
		}
		if strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}
		out[name] = val
	}
	return out, opaque, nil
}

func lgetxattr(path, name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(path, name, buf)
		if err == unix.ERANGE {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
}
