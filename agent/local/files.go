package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"

	"wrenn.dev/wrenn/agent"
)

// sandboxPath checks a path from a request: absolute or relative to /, and
// never climbing above / lexically. Symlinks are the resolver's business.
func sandboxPath(p string) (string, error) {
	if p == "" || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("path %q: %w", p, errInvalid)
	}
	depth := 0
	for _, part := range strings.Split(p, "/") {
		switch part {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return "", fmt.Errorf("path %q: %w", p, agent.ErrPathEscape)
			}
		default:
			depth++
		}
	}
	return path.Clean("/" + p), nil
}

// WriteFile writes content to path in the sandbox, creating parent
// directories. The path is resolved inside the rootfs (RESOLVE_IN_ROOT):
// symlinks, absolute ones too, are followed as the sandbox would see them,
// so nothing outside the rootfs is ever touched.
func (b *Backend) WriteFile(ctx context.Context, id, p string, content []byte) error {
	clean, err := sandboxPath(p)
	if err != nil {
		return err
	}
	if clean == "/" {
		return fmt.Errorf("path %q is a directory: %w", p, errInvalid)
	}
	sb, err := b.shared(id)
	if err != nil {
		return err
	}
	defer sb.mu.RUnlock()
	root, err := os.Open(sb.merged())
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := openForWrite(root, clean)
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	_, err = f.Write(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// ExtractTar extracts the tar stream r into dir in the sandbox, as it is
// read: dir is created with its parents and resolved inside the rootfs, and
// every entry is resolved inside dir (RESOLVE_IN_ROOT at dir: symlinks in
// the archive, absolute ones too, point inside it), so nothing is written
// outside dir. Entries keep the tar's owners, modes, times and xattrs;
// whiteout names are dropped. No tarball is written and nothing is held in
// memory beyond one copy buffer.
func (b *Backend) ExtractTar(ctx context.Context, id string, spec agent.ExtractSpec, r io.Reader) (int64, error) {
	dir := spec.Dir
	clean, err := sandboxPath(dir)
	if err != nil {
		return 0, err
	}
	sb, err := b.shared(id)
	if err != nil {
		return 0, err
	}
	defer sb.mu.RUnlock()
	root, err := os.Open(sb.merged())
	if err != nil {
		return 0, err
	}
	defer root.Close()
	for _, a := range spec.Absent {
		if err := checkAbsent(root, a); err != nil {
			return 0, fmt.Errorf("extract into %s: %w", dir, err)
		}
	}
	h, err := pathrs.MkdirAllHandle(root, clean, 0o755)
	if err != nil {
		return 0, fmt.Errorf("extract into %s: %w", dir, err)
	}
	defer h.Close()
	d, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return 0, fmt.Errorf("extract into %s: %w", dir, err)
	}
	defer d.Close()
	n, err := extractTarAt(ctx, r, d, extractOpts{extractionTimes: spec.ExtractionTimes})
	if err != nil {
		return n, fmt.Errorf("extract into %s: %w", dir, err)
	}
	return n, nil
}

// openForWrite opens clean for writing inside root: an existing file
// (through in-root symlinks) is truncated; a missing one is created,
// with its parent directories. A dangling symlink is followed as the
// sandbox would: its target is created, resolved inside root.
func openForWrite(root *os.File, clean string) (*os.File, error) {
	for hops := 0; hops < 40; hops++ {
		if h, err := pathrs.OpenatInRoot(root, clean); err == nil {
			defer h.Close()
			var st unix.Stat_t
			if err := unix.Fstat(int(h.Fd()), &st); err != nil {
				return nil, err
			}
			if st.Mode&unix.S_IFMT != unix.S_IFREG {
				return nil, fmt.Errorf("not a regular file: %w", errInvalid)
			}
			return pathrs.Reopen(h, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		dir, base := path.Split(clean)
		parent, err := pathrs.MkdirAllHandle(root, dir, 0o755)
		if err != nil {
			return nil, err
		}
		pfd := int(parent.Fd())
		fd, err := unix.Openat(pfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err == nil {
			parent.Close()
			return os.NewFile(uintptr(fd), clean), nil
		}
		if err != unix.EEXIST && err != unix.ELOOP {
			parent.Close()
			return nil, err
		}
		next, lerr := danglingTarget(root, parent, base)
		parent.Close()
		if lerr != nil {
			return nil, err
		}
		clean = next
	}
	return nil, fmt.Errorf("too many levels of symbolic links")
}

// danglingTarget reads the symlink base in parent and returns its target
// as a path inside root (relative targets from the link's real directory).
func danglingTarget(root, parent *os.File, base string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(parent.Fd()), base, buf)
	if err != nil {
		return "", err
	}
	target := string(buf[:n])
	if path.IsAbs(target) {
		return path.Clean(target), nil
	}
	rootReal, err1 := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", root.Fd()))
	dirReal, err2 := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", parent.Fd()))
	if err1 != nil || err2 != nil {
		return "", errors.New("cannot locate symlink")
	}
	rel := strings.TrimPrefix(dirReal, rootReal)
	// path.Clean of an absolute path never climbs above /
	return path.Clean("/" + rel + "/" + target), nil
}

// ReadFile reads path in the sandbox, resolved inside its rootfs.
func (b *Backend) ReadFile(ctx context.Context, id, p string) ([]byte, error) {
	clean, err := sandboxPath(p)
	if err != nil {
		return nil, err
	}
	sb, err := b.shared(id)
	if err != nil {
		return nil, err
	}
	defer sb.mu.RUnlock()
	root, err := os.Open(sb.merged())
	if err != nil {
		return nil, err
	}
	defer root.Close()
	h, err := pathrs.OpenatInRoot(root, clean)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", p, errNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer h.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("read %s: not a regular file: %w", p, errInvalid)
	}
	f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	return io.ReadAll(f)
}

// checkAbsent fails with agent.ErrExists when p exists in root (its
// parents resolved inside root, the last component not followed) or when
// a parent that exists is not a directory: either way writing at p would
// meet something already there. A missing parent means p is absent.
func checkAbsent(root *os.File, p string) error {
	clean, err := sandboxPath(p)
	if err != nil {
		return err
	}
	dir, base := path.Split(clean)
	if base == "" {
		return fmt.Errorf("%s: %w", p, agent.ErrExists) // the root
	}
	parent, err := pathrs.OpenatInRoot(root, dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w: %w", p, err, agent.ErrExists)
	}
	defer parent.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(parent.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("%s: parent is not a directory: %w", p, agent.ErrExists)
	}
	switch err := unix.Fstatat(int(parent.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil:
		return fmt.Errorf("%s: %w", p, agent.ErrExists)
	case errors.Is(err, unix.ENOENT):
		return nil
	default:
		return err
	}
}
