package compiler

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// ArchiveFormat tells an archive's format from its first bytes exactly as
// the seed's uploadAndExtractArchive does: gzip (1f 8b) is tar.gz, "PK\x03\x04"
// is zip, "ustar" at offset 257 is tar, anything else is tried as tar.gz.
func ArchiveFormat(b []byte) string {
	switch {
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		return "tar.gz"
	case len(b) >= 4 && string(b[:4]) == "PK\x03\x04":
		return "zip"
	case len(b) >= 262 && string(b[257:262]) == "ustar":
		return "tar"
	}
	return "tar.gz"
}

// ArchiveError rejects one archive entry.
type ArchiveError struct {
	Entry  string
	Reason string
}

func (e *ArchiveError) Error() string {
	return fmt.Sprintf("archive entry %q: %s", e.Entry, e.Reason)
}

// OpenArchive reads a tar, tar.gz or zip build context held in memory.
// Entries that would land outside the context when extracted (absolute
// paths, `..` components, symlinks or hard links pointing outside) are
// rejected with an *ArchiveError naming the entry.
func OpenArchive(data []byte, opts ContextOptions) (*Context, error) {
	format := ArchiveFormat(data)
	c := newContext(format, opts)
	var err error
	switch format {
	case "zip":
		err = c.readZip(data)
	case "tar":
		err = c.readTar(bytes.NewReader(data))
	default:
		zr, gerr := gzip.NewReader(bytes.NewReader(data))
		if gerr != nil {
			return nil, fmt.Errorf("open build context: not a tar, tar.gz or zip archive: %w", gerr)
		}
		err = c.readTar(zr)
	}
	if err != nil {
		return nil, err
	}
	if ign, ok := c.entries[IgnoreFile]; ok && ign.Type == TypeFile {
		pm, err := parseIgnore(ign.data)
		if err != nil {
			return nil, err
		}
		for p := range c.entries {
			if p == "." {
				continue
			}
			if skip, err := pm.MatchesOrParentMatches(p); err != nil {
				return nil, fmt.Errorf("%s: %w", IgnoreFile, err)
			} else if skip {
				delete(c.entries, p)
			}
		}
	}
	c.finish()
	return c, nil
}

// entryPath validates and cleans an archive member name.
func entryPath(name string) (string, error) {
	raw := name
	if strings.HasPrefix(name, "/") {
		return "", &ArchiveError{Entry: raw, Reason: "absolute path"}
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", &ArchiveError{Entry: raw, Reason: "path contains '..'"}
		}
	}
	p := path.Clean(name)
	if p == "." {
		return ".", nil
	}
	return p, nil
}

// checkLink rejects a symlink whose target resolves outside the context.
func checkLink(name, target string) error {
	if target == "" {
		return &ArchiveError{Entry: name, Reason: "symlink with an empty target"}
	}
	if strings.HasPrefix(target, "/") {
		return &ArchiveError{Entry: name, Reason: fmt.Sprintf("symlink points outside the context (%s)", target)}
	}
	r := path.Join(path.Dir(name), target)
	if r == ".." || strings.HasPrefix(r, "../") {
		return &ArchiveError{Entry: name, Reason: fmt.Sprintf("symlink points outside the context (%s)", target)}
	}
	return nil
}

func (c *Context) addArchiveEntry(e *Entry, total *int64) error {
	if len(c.entries) >= c.opts.MaxEntries {
		return fmt.Errorf("open build context: archive has more than %d entries", c.opts.MaxEntries)
	}
	*total += int64(len(e.data))
	if *total > c.opts.MaxBytes {
		return fmt.Errorf("open build context: archive expands to more than %d bytes", c.opts.MaxBytes)
	}
	if e.Path == "." {
		return nil // the root itself
	}
	c.entries[e.Path] = e
	return nil
}

// readLimited reads at most max bytes plus one, so an oversized member is
// detected without reading it all.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, max+1))
}

func (c *Context) readTar(r io.Reader) error {
	tr := tar.NewReader(r)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("open build context: read tar: %w", err)
		}
		p, err := entryPath(h.Name)
		if err != nil {
			return err
		}
		e := &Entry{Path: p, Mode: modeBits(h.FileInfo().Mode())}
		switch h.Typeflag {
		case tar.TypeDir:
			e.Type = TypeDir
		case tar.TypeReg: // the reader reports the old TypeRegA as TypeReg
			e.Type = TypeFile
			if e.data, err = readLimited(tr, c.opts.MaxBytes-total); err != nil {
				return fmt.Errorf("open build context: read tar entry %q: %w", h.Name, err)
			}
			e.Size = int64(len(e.data))
		case tar.TypeSymlink:
			if err := checkLink(h.Name, h.Linkname); err != nil {
				return err
			}
			e.Type, e.Link = TypeSymlink, h.Linkname
		case tar.TypeLink:
			target, err := entryPath(h.Linkname)
			if err != nil {
				return &ArchiveError{Entry: h.Name, Reason: fmt.Sprintf("hard link points outside the context (%s)", h.Linkname)}
			}
			t, ok := c.entries[target]
			if !ok || t.Type != TypeFile {
				return &ArchiveError{Entry: h.Name, Reason: fmt.Sprintf("hard link to %q, which is not an earlier regular file", h.Linkname)}
			}
			e.Type, e.data, e.Size = TypeFile, t.data, t.Size
		case tar.TypeXGlobalHeader:
			continue
		default:
			continue // devices and fifos cannot be copied
		}
		if err := c.addArchiveEntry(e, &total); err != nil {
			return err
		}
	}
}

func (c *Context) readZip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("open build context: read zip: %w", err)
	}
	var total int64
	for _, f := range zr.File {
		p, err := entryPath(f.Name)
		if err != nil {
			return err
		}
		m := f.Mode()
		e := &Entry{Path: p, Mode: modeBits(m)}
		switch {
		case m.IsDir() || strings.HasSuffix(f.Name, "/"):
			e.Type = TypeDir
			if m.Perm() == 0 {
				e.Mode = 0o755
			}
		case m&fs.ModeSymlink != 0:
			b, err := readZipEntry(f, 4096)
			if err != nil {
				return err
			}
			if err := checkLink(f.Name, string(b)); err != nil {
				return err
			}
			e.Type, e.Link = TypeSymlink, string(b)
		case m.IsRegular():
			e.Type = TypeFile
			if e.data, err = readZipEntry(f, c.opts.MaxBytes-total); err != nil {
				return err
			}
			e.Size = int64(len(e.data))
			if m.Perm() == 0 {
				e.Mode = 0o644
			}
		default:
			continue
		}
		if err := c.addArchiveEntry(e, &total); err != nil {
			return err
		}
	}
	return nil
}

func readZipEntry(f *zip.File, max int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("open build context: read zip entry %q: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := readLimited(rc, max)
	if err != nil {
		return nil, fmt.Errorf("open build context: read zip entry %q: %w", f.Name, err)
	}
	return b, nil
}
