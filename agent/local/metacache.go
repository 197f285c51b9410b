package local

import (
	"os"
	"slices"
	"sync"
	"syscall"
)

// metaCache keeps the decoded meta.json of layers and templates, so the
// several passes over them at start-up (recover, link repair, template
// collection, the sync check) and every template lookup after it read and
// parse each file once. An entry is good while the file's identity and
// change time are the same: every write of a meta.json (this process's
// or another's) makes a new file by rename, which changes both, so a stale
// entry is never returned and no write path has to invalidate.
type metaCache struct {
	mu sync.Mutex
	m  map[string]metaEntry // by meta.json path
}

type metaEntry struct {
	sig fileSig
	v   any // *layerMeta or *templateMeta, never handed out
}

type fileSig struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

func sigOf(fi os.FileInfo) (fileSig, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileSig{}, false
	}
	return fileSig{dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}, true
}

// readMeta fills v (a *layerMeta or *templateMeta) from path, from memory
// when the file is unchanged since it was last read.
func (b *Backend) readMeta(path string, v any) error {
	fi, err := os.Stat(path)
	if err != nil {
		b.meta.forget(path)
		return err
	}
	sig, ok := sigOf(fi)
	if ok {
		b.meta.mu.Lock()
		e, hit := b.meta.m[path]
		b.meta.mu.Unlock()
		if hit && e.sig == sig && copyMeta(v, e.v) {
			return nil
		}
	}
	if err := readJSON(path, v); err != nil {
		b.meta.forget(path)
		return err
	}
	if !ok {
		return nil
	}
	// the file may have been replaced between the stat and the read: then
	// the next stat differs from sig and the entry is not used
	var keep any
	switch m := v.(type) {
	case *layerMeta:
		c := *m
		keep = &c
	case *templateMeta:
		c := *m
		c.Start = cloneStarts(m.Start)
		keep = &c
	default:
		return nil
	}
	b.meta.mu.Lock()
	if b.meta.m == nil {
		b.meta.m = map[string]metaEntry{}
	}
	b.meta.m[path] = metaEntry{sig: sig, v: keep}
	b.meta.mu.Unlock()
	return nil
}

func (c *metaCache) forget(path string) {
	c.mu.Lock()
	delete(c.m, path)
	c.mu.Unlock()
}

// copyMeta copies the cached src into dst when both are the same type.
func copyMeta(dst, src any) bool {
	switch d := dst.(type) {
	case *layerMeta:
		s, ok := src.(*layerMeta)
		if ok {
			*d = *s
		}
		return ok
	case *templateMeta:
		s, ok := src.(*templateMeta)
		if ok {
			*d = *s
			d.Start = cloneStarts(s.Start)
		}
		return ok
	}
	return false
}

func cloneStarts(s []startSpec) []startSpec {
	if s == nil {
		return nil
	}
	out := make([]startSpec, len(s))
	for i, x := range s {
		out[i] = x
		out[i].Args = slices.Clone(x.Args)
	}
	return out
}
