package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"wrenn.dev/wrenn/lang"
)

// recordFormat is the version byte at the start of every stored record.
// A reader that meets a newer version says so instead of misreading it.
//
// Version 1 layout: uvarint-length-prefixed strings and varints, in the
// order of encodeRecord below. The preimage is stored under its own key
// (see keys.go) so that listing never reads it.
const recordFormat = 1

// errFormat reports a value written by a newer (or broken) wrenn.
type errFormat struct {
	what    string
	version byte
}

func (e *errFormat) Error() string {
	return fmt.Sprintf("%s has format version %d, this wrenn reads up to %d: upgrade wrenn or use another --cache-dir", e.what, e.version, recordFormat)
}

var errShort = errors.New("truncated value")

type encoder struct{ b []byte }

func (e *encoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}
func (e *encoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.int(0)
		return
	}
	e.int(t.UnixNano())
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uint()
	if d.err != nil {
		return ""
	}
	if uint64(len(d.b)) < n {
		d.err = errShort
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) time() time.Time {
	v := d.int()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func (e *encoder) pos(p lang.Pos) {
	e.int(int64(p.Line))
	e.int(int64(p.Column))
	e.int(int64(p.Offset))
}

func (d *decoder) pos() lang.Pos {
	return lang.Pos{Line: int(d.int()), Column: int(d.int()), Offset: int(d.int())}
}

// encodeRecord writes everything but the preimage.
func encodeRecord(r *Record) []byte {
	e := encoder{b: make([]byte, 0, 128+len(r.Text))}
	e.b = append(e.b, recordFormat)
	e.str(r.Key)
	e.str(r.Snapshot.Agent)
	e.str(r.Snapshot.ID)
	e.str(string(r.Snapshot.Kind))
	e.uint(uint64(len(r.Parents)))
	for _, p := range r.Parents {
		e.str(p)
	}
	e.str(r.Text)
	e.str(r.Source.File)
	e.pos(r.Source.Start)
	e.pos(r.Source.End)
	e.str(r.Digest)
	e.int(r.SizeBytes)
	e.time(r.Created)
	e.time(r.LastUsed)
	e.int(r.Hits)
	e.str(r.Template)
	e.str(r.Stage)
	return e.b
}

func decodeRecord(b []byte, r *Record) error {
	if len(b) == 0 {
		return errShort
	}
	if b[0] != recordFormat {
		return &errFormat{what: "record", version: b[0]}
	}
	d := decoder{b: b[1:]}
	r.Key = d.str()
	r.Snapshot.Agent = d.str()
	r.Snapshot.ID = d.str()
	r.Snapshot.Kind = SnapshotKind(d.str())
	n := d.uint()
	if n > uint64(len(d.b)) {
		return errShort
	}
	r.Parents = nil
	if n > 0 {
		r.Parents = make([]string, n)
		for i := range r.Parents {
			r.Parents[i] = d.str()
		}
	}
	r.Text = d.str()
	r.Source.File = d.str()
	r.Source.Start = d.pos()
	r.Source.End = d.pos()
	r.Digest = d.str()
	r.SizeBytes = d.int()
	r.Created = d.time()
	r.LastUsed = d.time()
	r.Hits = d.int()
	r.Template = d.str()
	r.Stage = d.str()
	return d.err
}

// encodeVersioned prefixes a JSON (or raw) value with the format byte.
func encodeVersioned(v []byte) []byte {
	out := make([]byte, 0, len(v)+1)
	out = append(out, recordFormat)
	return append(out, v...)
}

func decodeVersioned(what string, b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errShort
	}
	if b[0] != recordFormat {
		return nil, &errFormat{what: what, version: b[0]}
	}
	return b[1:], nil
}

// statKeyBytes is the stat-cache key: the path, a NUL (which no path
// holds), then the other fields as varints, so no two file versions share
// a key and the entries of one directory tree are one key range.
func statKeyBytes(k StatKey) []byte {
	e := encoder{b: append([]byte(nil), prefixStat...)}
	e.b = append(e.b, k.Path...)
	e.b = append(e.b, 0)
	e.int(k.Size)
	e.int(k.MTime)
	e.uint(k.Inode)
	e.uint(uint64(k.Mode))
	return e.b
}

// decodeStatKey is the inverse of statKeyBytes.
func decodeStatKey(key []byte) (StatKey, error) {
	b := key[len(prefixStat):]
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return StatKey{}, errShort
	}
	k := StatKey{Path: string(b[:i])}
	d := decoder{b: b[i+1:]}
	k.Size, k.MTime, k.Inode, k.Mode = d.int(), d.int(), d.uint(), uint32(d.uint())
	return k, d.err
}
