package local

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
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
func writeTree(dir string, w io.Writer, zeroTimes bool) (treeStats, error) {
	tw := tar.NewWriter(w)
	var st treeStats
	seen := map[[2]uint64]string{} // (dev, ino) -> first name, for hardlinks
	err := filepath.WalkDir(dir, func(full string, d fs.DirEntry, err error) error {
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
		for _, hdr := range hdrs {
			if zeroTimes {
				hdr.ModTime = time.Unix(0, 0)
			} else {
				hdr.ModTime = time.Unix(sys.Mtim.Sec, sys.Mtim.Nsec)
			}
			hdr.Format = tar.FormatPAX
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
				f, err := os.Open(full)
				if err != nil {
					return err
				}
				n, err := io.Copy(tw, f)
				f.Close()
				if err != nil {
					return err
				}
				if n != hdr.Size {
					return fmt.Errorf("%s changed while being read", full)
				}
			}
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	return st, tw.Close()
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
