package compiler

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// WriteTar writes the selected entries as an uncompressed tar, paths
// relative to the context root with their parent directories, so that the
// executor ships exactly the files a COPY selects and unpacks them into
// CopySpec.Staging. Owners are root and times are zero: neither is part
// of the key, so neither may vary. A file whose content no longer matches
// its hashed size is an error rather than a silent mismatch with the key.
func (c *Context) WriteTar(w io.Writer, sel *Selection) error {
	set := map[string]*Entry{}
	for _, e := range sel.Files {
		set[e.Path] = e
		for d := path.Dir(e.Path); d != "."; d = path.Dir(d) {
			if _, ok := set[d]; ok {
				break
			}
			if de, ok := c.entries[d]; ok {
				set[d] = de
			}
		}
	}
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	tw := tar.NewWriter(w)
	for _, p := range paths {
		e := set[p]
		if err := c.writeEntry(tw, "write context tar", &tar.Header{Name: p, Mode: int64(e.Mode)}, e); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write context tar: %w", err)
	}
	return nil
}

func (c *Context) copyContent(w io.Writer, e *Entry) error {
	var r io.Reader
	if e.abs == "" {
		r = bytes.NewReader(e.data)
	} else {
		f, err := c.opts.Open(e.abs)
		if err != nil {
			return fmt.Errorf("write context tar: %w", err)
		}
		defer f.Close()
		r = f
	}
	n, err := io.Copy(w, io.LimitReader(r, e.Size))
	if err != nil {
		return fmt.Errorf("write context tar: %s: %w", e.Path, err)
	}
	if n != e.Size {
		return fmt.Errorf("write context tar: %s changed since it was hashed (size %d, now %d)", e.Path, e.Size, n)
	}
	return nil
}

// WriteCopyTar writes a context COPY's files as a tar whose entries are
// named by where they land in the sandbox (relative to /, Placements),
// with what the copy Script leaves there: owner uid:gid on every entry
// (the script's `chown -R`), modes as `cp` creates them under the
// sandbox's umask 022 (setuid, setgid and sticky dropped, as the chown
// drops them) or the --chmod mode, and a directory root's destination
// itself as a 0755 directory (`mkdir -p`). Unpacked at / where no
// Placement's To exists yet, it leaves the files the Script would; the
// executor uses it to write a COPY straight into its destination.
func (c *Context) WriteCopyTar(w io.Writer, spec *CopySpec, uid, gid int) error {
	var chmod int64 = -1
	if spec.Chmod != "" {
		m, err := strconv.ParseUint(spec.Chmod, 8, 32)
		if err != nil {
			return fmt.Errorf("write copy tar: --chmod=%s: %w", spec.Chmod, err)
		}
		chmod = int64(m)
	}
	tw := tar.NewWriter(w)
	put := func(name string, e *Entry) error {
		mode := int64(0o755)
		if e != nil {
			mode = int64(e.Mode) & 0o777 &^ 0o022
		} else {
			e = &Entry{Type: TypeDir} // the destination itself, as mkdir -p makes it
		}
		switch {
		case e.Type == TypeSymlink:
			mode = 0o777
		case chmod >= 0:
			mode = chmod
		}
		return c.writeEntry(tw, "write copy tar", &tar.Header{Name: strings.TrimPrefix(name, "/"), Mode: mode, Uid: uid, Gid: gid}, e)
	}
	for _, p := range spec.Placements() {
		if p.Root.Type != TypeDir {
			if err := put(p.To, p.Root); err != nil {
				return err
			}
			continue
		}
		if err := put(p.To, nil); err != nil {
			return err
		}
		prefix := p.Root.Path + "/"
		if p.Root.Path == "." {
			prefix = ""
		}
		for _, e := range c.under(p.Root.Path) {
			if err := put(path.Join(p.To, strings.TrimPrefix(e.Path, prefix)), e); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write copy tar: %w", err)
	}
	return nil
}

// writeEntry writes e under h's name, mode and owner: its type, link or
// size from e, time zero, then a file's content.
func (c *Context) writeEntry(tw *tar.Writer, what string, h *tar.Header, e *Entry) error {
	h.ModTime, h.Format = time.Unix(0, 0), tar.FormatPAX
	switch e.Type {
	case TypeDir:
		h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
	case TypeSymlink:
		h.Typeflag, h.Linkname = tar.TypeSymlink, e.Link
	case TypeFile:
		h.Typeflag, h.Size = tar.TypeReg, e.Size
	}
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if e.Type != TypeFile {
		return nil
	}
	return c.copyContent(tw, e)
}
