package local

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"time"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"

	"wrenn.dev/wrenn/agent"
)

// errEntryEscapes is the reason for rejecting a tar entry that names a path
// outside the directory it is extracted into.
var errEntryEscapes = fmt.Errorf("escapes the root (absolute path or ..): %w", agent.ErrPathEscape)

// maybeGunzip returns r, decompressed if it starts with the gzip magic.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(2)
	if err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}

// cleanEntry turns a tar entry name into a clean relative path ("" for the
// root itself), rejecting absolute names and any ".." component.
func cleanEntry(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", errEntryEscapes
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", errEntryEscapes
		}
	}
	p := path.Clean(name)
	if p == "." {
		return "", nil
	}
	return p, nil
}

// extractTar writes the tar stream into dest (an existing, empty
// directory). Every entry's parent is resolved inside dest with openat2
// RESOLVE_IN_ROOT semantics, so symlinks in the archive (absolute ones are
// normal in a rootfs) point inside dest and entries never land outside it.
// asLayer turns OCI whiteouts into overlay whiteouts; otherwise they are
// dropped (a base has nothing below it).
func extractTar(ctx context.Context, r io.Reader, dest string, asLayer bool) error {
	root, err := os.Open(dest)
	if err != nil {
		return err
	}
	defer root.Close()
	_, err = extractTarAt(ctx, r, root, extractOpts{asLayer: asLayer})
	return err
}

// extractOpts are extractTarAt's choices: asLayer as for extractTar;
// extractionTimes leaves entries the time they are written (as `cp`
// does) instead of the tar's.
type extractOpts struct {
	asLayer, extractionTimes bool
}

// extractTarAt is extractTar into the directory root, returning the number
// of entries extracted.
//
// Creating a file is mostly kernel CPU time (on this project's machine
// 40-400 us, more than writing 25 KB into it), and creates in one
// directory take turns on its lock, so small regular files are written by
// workers, one per core, each in a different directory at a time, with
// their content read from the stream first. Directories are made in
// stream order as they come; anything else (links, whiteouts, devices,
// large files), and an entry whose name is still being written, waits for
// the files in flight first, so the result is the sequential one.
func extractTarAt(ctx context.Context, r io.Reader, root *os.File, o extractOpts) (int64, error) {
	tr := tar.NewReader(r)
	w := newFileWriters(root, o)
	defer w.stop()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if err := w.failed(); err != nil {
			return n, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return n, w.wait()
		}
		if err != nil {
			return n, fmt.Errorf("reading tar: %w: %w", err, errInvalid)
		}
		n++
		name, err := cleanEntry(hdr.Name)
		if err != nil {
			return n, fmt.Errorf("tar entry %q: %w", hdr.Name, err)
		}
		if name == "" {
			continue // the root directory keeps its own mode
		}
		if dispatched, err := w.offer(tr, hdr, name); dispatched || err != nil {
			if err != nil {
				return n, fmt.Errorf("tar entry %q: %w", hdr.Name, err)
			}
			continue
		}
		// A directory whose name no file in flight has, made where a
		// directory (or nothing) is, can be made now. Anything else may
		// replace a directory, or a symlink that held handles lead
		// through: it waits for the files in flight and drops the handles.
		if hdr.Typeflag != tar.TypeDir || w.names[name] || w.replacesNonDir(name) {
			if err := w.wait(); err != nil {
				return n, err
			}
			w.forget()
		}
		if err := w.extractEntry(tr, hdr, name); err != nil {
			return n, fmt.Errorf("tar entry %q: %w", hdr.Name, err)
		}
	}
}

// Files a worker writes from a buffer are at most parallelFileMax bytes;
// at most parallelBuffered bytes of them wait.
const (
	parallelFileMax  = 256 << 10
	parallelBuffered = 16 << 20
)

// fileWriters writes regular files for extractTarAt in parallel, never two
// in one directory at once.
type fileWriters struct {
	root  *os.File
	o     extractOpts
	names map[string]bool // names in flight since the last wait (reader only)
	// parents holds the reader's handles of directories entries went into
	// (by their path.Split dir), so each is resolved once, not once per
	// entry; forget closes them once nothing is in flight.
	parents map[string]*os.File

	mu       sync.Mutex
	cond     *sync.Cond
	queues   map[string][]fileJob // by directory
	dirs     []string             // directories with queued jobs, oldest first
	busy     map[string]bool      // directories a worker writes in
	buffered int64
	pending  int
	closed   bool
	err      error
	workers  sync.WaitGroup
}

type fileJob struct {
	hdr    *tar.Header
	parent *os.File // the entry's directory (the reader's, in parents)
	dir    string
	base   string
	data   []byte
}

func newFileWriters(root *os.File, o extractOpts) *fileWriters {
	w := &fileWriters{root: root, o: o, names: map[string]bool{}, parents: map[string]*os.File{}, queues: map[string][]fileJob{}, busy: map[string]bool{}}
	w.cond = sync.NewCond(&w.mu)
	for range max(runtime.GOMAXPROCS(0), 1) {
		w.workers.Add(1)
		go w.work()
	}
	return w
}

func (w *fileWriters) work() {
	defer w.workers.Done()
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		j, ok := w.next()
		if !ok {
			return
		}
		failed := w.err != nil
		w.mu.Unlock()
		var err error
		if !failed {
			err = writeEntryAt(w.root, j.parent, j.base, bytes.NewReader(j.data), j.hdr, w.o)
		}
		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = fmt.Errorf("tar entry %q: %w", j.hdr.Name, err)
		}
		w.busy[j.dir] = false
		w.buffered -= int64(len(j.data))
		w.pending--
		w.cond.Broadcast()
	}
}

// next takes the oldest job in a directory no worker is in, waiting for
// one; ok is false once stopped and drained. w.mu is held.
func (w *fileWriters) next() (fileJob, bool) {
	for {
		for i, d := range w.dirs {
			if w.busy[d] {
				continue
			}
			q := w.queues[d]
			j := q[0]
			if len(q) == 1 {
				delete(w.queues, d)
				w.dirs = append(w.dirs[:i:i], w.dirs[i+1:]...)
			} else {
				w.queues[d] = q[1:]
			}
			w.busy[d] = true
			return j, true
		}
		if w.closed && len(w.dirs) == 0 {
			return fileJob{}, false
		}
		w.cond.Wait()
	}
}

// offer hands a small regular file to the workers, reading its content
// now; dispatched is false for an entry the caller must make itself, in
// order.
func (w *fileWriters) offer(tr io.Reader, hdr *tar.Header, name string) (dispatched bool, err error) {
	// a file in place of a directory handle held: made in order, after
	// the handles are dropped
	if hdr.Typeflag != tar.TypeReg || hdr.Size > parallelFileMax || w.names[name] || w.parents[name+"/"] != nil {
		return false, nil
	}
	dir, base := path.Split(name)
	if base == opaqueMarker || strings.HasPrefix(base, whiteoutPrefix) {
		return false, nil
	}
	parent, err := w.parent(dir)
	if err != nil {
		return false, err
	}
	data := make([]byte, hdr.Size)
	if _, err := io.ReadFull(tr, data); err != nil {
		return false, fmt.Errorf("reading tar: %w: %w", err, errInvalid)
	}
	w.names[name] = true
	w.mu.Lock()
	for w.buffered > 0 && w.buffered+hdr.Size > parallelBuffered && w.err == nil {
		w.cond.Wait()
	}
	if _, ok := w.queues[dir]; !ok {
		w.dirs = append(w.dirs, dir)
	}
	w.queues[dir] = append(w.queues[dir], fileJob{hdr: hdr, parent: parent, dir: dir, base: base, data: data})
	w.buffered += hdr.Size
	w.pending++
	w.cond.Broadcast()
	w.mu.Unlock()
	return true, nil
}

// parent returns the handle of the directory dir ("" for the root, else
// ending in "/"), made with its parents if missing, resolved inside the
// root once per extraction while nothing replaces a directory.
func (w *fileWriters) parent(dir string) (*os.File, error) {
	if h := w.parents[dir]; h != nil {
		return h, nil
	}
	h, err := pathrs.MkdirAllHandle(w.root, "/"+dir, 0o755)
	if err != nil {
		return nil, err
	}
	w.parents[dir] = h
	return h, nil
}

// replacesNonDir reports whether a directory entry named name would
// replace something that is not a directory (a symlink, say); true when
// that cannot be told, so the caller takes the careful way.
func (w *fileWriters) replacesNonDir(name string) bool {
	dir, base := path.Split(name)
	parent, err := w.parent(dir)
	if err != nil {
		return true
	}
	var st unix.Stat_t
	err = unix.Fstatat(int(parent.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW)
	return err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR || err != nil && err != unix.ENOENT
}

// forget closes the directory handles held: the reader calls it, with
// nothing in flight, before it makes an entry that may replace a
// directory or a symlink (anything but a directory made where a
// directory or nothing is), so a handle never outlives what its path
// named.
func (w *fileWriters) forget() {
	for d, h := range w.parents {
		h.Close()
		delete(w.parents, d)
	}
}

// wait returns once every file handed over is written, with the first
// error.
func (w *fileWriters) wait() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.pending > 0 {
		w.cond.Wait()
	}
	clear(w.names)
	return w.err
}

func (w *fileWriters) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// stop ends the workers once the queue is drained.
func (w *fileWriters) stop() {
	w.mu.Lock()
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
	w.workers.Wait()
	w.forget()
}

// extractEntry makes one entry in order; name is its cleaned name
// (cleanEntry), not the root. Its directory comes from the handles held
// (parent), as a dispatched file's does.
func (w *fileWriters) extractEntry(tr io.Reader, hdr *tar.Header, name string) error {
	dir, base := path.Split(name)
	whiteout := base == opaqueMarker || strings.HasPrefix(base, whiteoutPrefix)
	if whiteout && !w.o.asLayer {
		return nil
	}
	parent, err := w.parent(dir)
	if err != nil {
		return err
	}
	if !whiteout {
		return writeEntryAt(w.root, parent, base, tr, hdr, w.o)
	}
	pfd := int(parent.Fd())
	if base == opaqueMarker {
		return unix.Setxattr(fmt.Sprintf("/proc/self/fd/%d", pfd), opaqueXattr, []byte("y"), 0)
	}
	target := strings.TrimPrefix(base, whiteoutPrefix)
	if target == "" || target == "." || target == ".." {
		return errEntryEscapes
	}
	_ = removeAt(pfd, target)
	return unix.Mknodat(pfd, target, unix.S_IFCHR, 0)
}

// writeEntryAt makes the entry base in the directory parent, replacing
// what is there (a directory stays for a directory entry), with the
// content read from tr.
func writeEntryAt(root, parent *os.File, base string, tr io.Reader, hdr *tar.Header, o extractOpts) error {
	pfd := int(parent.Fd())
	var existing unix.Stat_t
	exists := unix.Fstatat(pfd, base, &existing, unix.AT_SYMLINK_NOFOLLOW) == nil
	isDir := exists && existing.Mode&unix.S_IFMT == unix.S_IFDIR
	if exists && !(isDir && hdr.Typeflag == tar.TypeDir) {
		if err := removeAt(pfd, base); err != nil {
			return err
		}
	}
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeDir:
		if !isDir {
			if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
				return err
			}
		}
	case tar.TypeReg: // the reader reports the old TypeRegA as TypeReg
		fd, err := unix.Openat(pfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), base)
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return err
		}
	case tar.TypeLink:
		target, err := cleanEntry(hdr.Linkname)
		if err != nil || target == "" {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, errEntryEscapes)
		}
		tdir, tbase := path.Split(target)
		th, err := pathrs.OpenatInRoot(root, "/"+tdir)
		if err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		err = unix.Linkat(int(th.Fd()), tbase, pfd, base, 0)
		th.Close()
		if err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		return nil // shares the target's metadata
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		typ := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknodat(pfd, base, typ|0o600, int(dev)); err != nil {
			return err
		}
	default:
		return nil // pax globals, GNU extensions without content
	}
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeSymlink {
		// after chown, which clears setuid bits
		if err := unix.Fchmodat(pfd, base, mode, 0); err != nil {
			return err
		}
	}
	for k, v := range hdr.PAXRecords {
		if attr, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok && !strings.HasPrefix(attr, "trusted.overlay.") {
			if err := lsetxattrAt(pfd, base, attr, v); err != nil {
				return fmt.Errorf("xattr %s: %w", attr, err)
			}
		}
	}
	if hdr.Typeflag != tar.TypeDir && !o.extractionTimes {
		mt := hdr.ModTime
		if mt.IsZero() {
			mt = time.Unix(0, 0)
		}
		ts := []unix.Timespec{unix.NsecToTimespec(mt.UnixNano()), unix.NsecToTimespec(mt.UnixNano())}
		_ = unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
	}
	return nil
}

// removeAt removes base in the directory pfd, recursively for a directory.
func removeAt(pfd int, base string) error {
	err := unix.Unlinkat(pfd, base, 0)
	if err == unix.EISDIR || err == unix.EPERM {
		if err = unix.Unlinkat(pfd, base, unix.AT_REMOVEDIR); err == unix.ENOTEMPTY || err == unix.EEXIST {
			return os.RemoveAll(fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base))
		}
	}
	if err == unix.ENOENT {
		return nil
	}
	return err
}

// lsetxattrAt sets an xattr on base in pfd without following a symlink,
// through the O_PATH handle's /proc path.
func lsetxattrAt(pfd int, base, attr, val string) error {
	return unix.Lsetxattr(fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base), attr, []byte(val), 0)
}
