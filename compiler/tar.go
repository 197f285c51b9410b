package compiler

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
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
		h := &tar.Header{Name: p, Mode: int64(e.Mode), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		switch e.Type {
		case TypeDir:
			h.Typeflag, h.Name = tar.TypeDir, p+"/"
		case TypeSymlink:
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.Link
		case TypeFile:
			h.Typeflag, h.Size = tar.TypeReg, e.Size
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("write context tar: %w", err)
		}
		if e.Type != TypeFile {
			continue
		}
		if err := c.copyContent(tw, e); err != nil {
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
