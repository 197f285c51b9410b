package local

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
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
func extractTarAt(ctx context.Context, r io.Reader, root *os.File, o extractOpts) (int64, error) {
	tr := tar.NewReader(r)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("reading tar: %w: %w", err, errInvalid)
		}
		if err := extractEntry(root, tr, hdr, o); err != nil {
			return n, fmt.Errorf("tar entry %q: %w", hdr.Name, err)
		}
		n++
	}
}

func extractEntry(root *os.File, tr io.Reader, hdr *tar.Header, o extractOpts) error {
	name, err := cleanEntry(hdr.Name)
	if err != nil {
		return err
	}
	if name == "" {
		return nil // the root directory keeps its own mode
	}
	dir, base := path.Split(name)
	if base == opaqueMarker || strings.HasPrefix(base, whiteoutPrefix) {
		if !o.asLayer {
			return nil
		}
		parent, err := pathrs.MkdirAllHandle(root, "/"+dir, 0o755)
		if err != nil {
			return err
		}
		defer parent.Close()
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
	parent, err := pathrs.MkdirAllHandle(root, "/"+dir, 0o755)
	if err != nil {
		return err
	}
	defer parent.Close()
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
