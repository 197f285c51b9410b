package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Options tune Open.
type Options struct {
	// LockWait is how long Open keeps retrying while another process holds
	// the directory (0: fail at once with a *LockedError).
	LockWait time.Duration
	// Logf receives Badger's warnings and errors; nil keeps Badger quiet
	// (its INFO output is noise for a CLI).
	Logf func(format string, args ...any)
}

// BadgerStore is the Store on disk. One process at a time may open a
// directory (Badger's flock); a second gets a *LockedError naming the
// holder.
type BadgerStore struct {
	dir string
	mu  sync.RWMutex // write-locked by Close only
	// wmu serialises writers: only this process can open the directory,
	// so in-process serialisation removes every transaction conflict.
	wmu    sync.Mutex
	db     *badger.DB
	closed bool
	// snapshotDir is the private copy an OpenSnapshot store reads; writes
	// are refused and Close removes it.
	snapshotDir string
}

var _ Store = (*BadgerStore)(nil)

// Open opens (creating if needed) the cache in dir.
func Open(dir string, opts Options) (*BadgerStore, error) {
	if dir == "" {
		return nil, errors.New("no cache directory given")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create cache directory: %w", err)
	}
	bo := badgerOptions(dir, opts.Logf)
	deadline := time.Now().Add(opts.LockWait)
	var db *badger.DB
	for {
		var err error
		db, err = badger.Open(bo)
		if err == nil {
			break
		}
		if !isLockError(err) {
			return nil, fmt.Errorf("cannot open cache directory %s: %v", dir, firstLine(err))
		}
		if time.Now().After(deadline) {
			return nil, lockHolder(dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s := &BadgerStore{dir: dir, db: db}
	if err := s.checkFormat(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// badgerOptions sizes Badger for a CLI: small memtables and value-log
// files, no block cache (nothing is compressed), few goroutines, so that
// opening is fast and memory stays in the tens of megabytes.
func badgerOptions(dir string, logf func(string, ...any)) badger.Options {
	o := badger.DefaultOptions(dir).
		WithLogger(nil).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(3).
		WithNumLevelZeroTablesStall(8).
		WithValueLogFileSize(8 << 20).
		WithBaseTableSize(2 << 20).
		WithCompression(options.None).
		WithBlockCacheSize(0).
		WithIndexCacheSize(0).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithMetricsEnabled(false).
		WithDetectConflicts(true)
	if logf != nil {
		o = o.WithLogger(logAdapter{logf}).WithLoggingLevel(badger.WARNING)
	}
	return o
}

type logAdapter struct{ f func(string, ...any) }

func (l logAdapter) Errorf(f string, a ...any)   { l.f("badger: error: "+f, a...) }
func (l logAdapter) Warningf(f string, a ...any) { l.f("badger: warning: "+f, a...) }
func (l logAdapter) Infof(string, ...any)        {}
func (l logAdapter) Debugf(string, ...any)       {}

// firstLine keeps a user-facing error to its first line (Badger's wrapped
// errors can carry several).
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// checkFormat stamps a new store with the format version and refuses one
// written by a newer wrenn.
func (s *BadgerStore) checkFormat() error {
	return s.db.Update(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(keyFormat))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set([]byte(keyFormat), []byte{recordFormat})
		}
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			if len(v) != 1 || v[0] > recordFormat {
				ver := byte(0)
				if len(v) > 0 {
					ver = v[0]
				}
				return fmt.Errorf("cache directory %s: %w", s.dir, &errFormat{what: "store", version: ver})
			}
			return nil
		})
	})
}

// Dir is the directory the store lives in.
func (s *BadgerStore) Dir() string { return s.dir }

// Close flushes and closes the database; later calls return ErrClosed.
func (s *BadgerStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.db.Close()
	if s.snapshotDir != "" {
		os.RemoveAll(s.snapshotDir)
	}
	return err
}

// IsSnapshot reports whether the store is a read-only copy (OpenSnapshot).
func (s *BadgerStore) IsSnapshot() bool { return s.snapshotDir != "" }

// view and update run fn with the store open.
func (s *BadgerStore) view(ctx context.Context, fn func(*badger.Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.View(fn)
}

// lockWrite checks that the store takes writes (open, not a read-only
// snapshot, context live) and serialises writers; call the returned func
// when the write is done.
func (s *BadgerStore) lockWrite(ctx context.Context) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, ErrClosed
	}
	if s.snapshotDir != "" {
		s.mu.RUnlock()
		return nil, ErrReadOnly
	}
	s.wmu.Lock()
	return func() { s.wmu.Unlock(); s.mu.RUnlock() }, nil
}

func (s *BadgerStore) update(ctx context.Context, fn func(*badger.Txn) error) error {
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	for attempt := 0; ; attempt++ {
		err := s.db.Update(fn)
		if errors.Is(err, badger.ErrConflict) && attempt < 5 {
			continue
		}
		return err
	}
}

func getRecord(txn *badger.Txn, key string, preimage bool, r *Record) error {
	it, err := txn.Get(recordKey(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := it.Value(func(v []byte) error { return decodeRecord(v, r) }); err != nil {
		return fmt.Errorf("record %s: %w", key, err)
	}
	if preimage {
		return getPreimage(txn, key, r)
	}
	return nil
}

func getPreimage(txn *badger.Txn, key string, r *Record) error {
	it, err := txn.Get(preimageKey(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	v, err := it.ValueCopy(nil)
	if err != nil {
		return err
	}
	r.Preimage, err = decodeVersioned("preimage", v)
	return err
}

func (s *BadgerStore) Get(ctx context.Context, key string) (Record, error) {
	var r Record
	err := s.view(ctx, func(txn *badger.Txn) error { return getRecord(txn, key, true, &r) })
	return r, err
}

func (s *BadgerStore) Lookup(ctx context.Context, keys []string) (map[string]Record, error) {
	out := make(map[string]Record, len(keys))
	err := s.view(ctx, func(txn *badger.Txn) error {
		for _, k := range keys {
			var r Record
			switch err := getRecord(txn, k, true, &r); {
			case errors.Is(err, ErrNotFound):
			case err != nil:
				return err
			default:
				out[k] = r
			}
		}
		return nil
	})
	return out, err
}

func (s *BadgerStore) Put(ctx context.Context, rec Record) error {
	if err := validateRecord(&rec); err != nil {
		return err
	}
	fillTimes(&rec, time.Now())
	return s.update(ctx, func(txn *badger.Txn) error { return putRecord(txn, &rec) })
}

// PutMany stores many records in few transactions (import, benchmarks):
// each record is written as Put would, and a transaction is committed
// whenever it grows too big for Badger, so a failure part-way leaves a
// prefix of recs stored, never half a record.
func (s *BadgerStore) PutMany(ctx context.Context, recs []Record) error {
	now := time.Now()
	for i := range recs {
		if err := validateRecord(&recs[i]); err != nil {
			return err
		}
		fillTimes(&recs[i], now)
	}
	unlock, err := s.lockWrite(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	first := 0 // the first record of txn
	for i := 0; i < len(recs); i++ {
		err := putRecord(txn, &recs[i])
		if errors.Is(err, badger.ErrTxnTooBig) && i > first {
			// txn holds part of recs[i]: drop it and commit
			// recs[first:i] alone, then start again at recs[i]
			txn.Discard()
			txn = s.db.NewTransaction(true)
			for j := first; j < i; j++ {
				if err := putRecord(txn, &recs[j]); err != nil {
					return err
				}
			}
			if err := txn.Commit(); err != nil {
				return err
			}
			txn, first = s.db.NewTransaction(true), i
			err = putRecord(txn, &recs[i])
		}
		if err != nil {
			return err
		}
	}
	return txn.Commit()
}

// putRecord writes a record, its preimage and its children-index entries,
// removing index entries of parents the old version had.
func putRecord(txn *badger.Txn, rec *Record) error {
	var old Record
	switch err := getRecord(txn, rec.Key, false, &old); {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	default:
		for _, p := range old.Parents {
			if !slices.Contains(rec.Parents, p) {
				if err := txn.Delete(childKey(p, rec.Key)); err != nil {
					return err
				}
			}
		}
	}
	if err := txn.Set(recordKey(rec.Key), encodeRecord(rec)); err != nil {
		return err
	}
	if len(rec.Preimage) > 0 {
		if err := txn.Set(preimageKey(rec.Key), encodeVersioned(rec.Preimage)); err != nil {
			return err
		}
	} else if err := txn.Delete(preimageKey(rec.Key)); err != nil {
		return err
	}
	for _, p := range rec.Parents {
		if err := txn.Set(childKey(p, rec.Key), nil); err != nil {
			return err
		}
	}
	return nil
}

func (s *BadgerStore) Delete(ctx context.Context, key string) error {
	return s.update(ctx, func(txn *badger.Txn) error { return deleteRecord(txn, key) })
}

func deleteRecord(txn *badger.Txn, key string) error {
	var old Record
	switch err := getRecord(txn, key, false, &old); {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	for _, p := range old.Parents {
		if err := txn.Delete(childKey(p, key)); err != nil {
			return err
		}
	}
	if err := txn.Delete(preimageKey(key)); err != nil {
		return err
	}
	return txn.Delete(recordKey(key))
}

func (s *BadgerStore) Touch(ctx context.Context, keys []string, t time.Time) error {
	t = t.UTC()
	return s.update(ctx, func(txn *badger.Txn) error {
		for _, k := range keys {
			var r Record
			switch err := getRecord(txn, k, false, &r); {
			case errors.Is(err, ErrNotFound):
				continue
			case err != nil:
				return err
			}
			if t.After(r.LastUsed) {
				r.LastUsed = t
			}
			r.Hits++
			if err := txn.Set(recordKey(k), encodeRecord(&r)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *BadgerStore) Records(ctx context.Context, preimages bool, fn func(Record) error) error {
	return s.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte(prefixRecord)
		o.PrefetchSize = 256
		it := txn.NewIterator(o)
		defer it.Close()
		n := 0
		for it.Rewind(); it.Valid(); it.Next() {
			if n++; n%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			var r Record
			item := it.Item()
			if err := item.Value(func(v []byte) error { return decodeRecord(v, &r) }); err != nil {
				return fmt.Errorf("record %s: %w", item.Key()[len(prefixRecord):], err)
			}
			if preimages {
				if err := getPreimage(txn, r.Key, &r); err != nil {
					return err
				}
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *BadgerStore) KeysWithPrefix(ctx context.Context, prefix string, limit int) ([]string, error) {
	var keys []string
	err := s.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.PrefetchValues = false
		o.Prefix = []byte(prefixRecord + prefix)
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, string(it.Item().Key()[len(prefixRecord):]))
			if limit > 0 && len(keys) >= limit {
				break
			}
		}
		return nil
	})
	return keys, err
}

func (s *BadgerStore) Children(ctx context.Context, parent string) ([]string, error) {
	var keys []string
	p := []byte(prefixChild + parent + "\x00")
	err := s.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.PrefetchValues = false
		o.Prefix = p
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, string(bytes.TrimPrefix(it.Item().Key(), p)))
		}
		return nil
	})
	return keys, err
}

func (s *BadgerStore) PutRef(ctx context.Context, ref Ref) error {
	if ref.Name == "" {
		return errors.New("ref has no name")
	}
	ref.Created = ref.Created.UTC()
	if ref.Created.IsZero() {
		ref.Created = time.Now().UTC()
	}
	b, err := json.Marshal(ref)
	if err != nil {
		return err
	}
	return s.update(ctx, func(txn *badger.Txn) error { return txn.Set(refKey(ref.Name), encodeVersioned(b)) })
}

func (s *BadgerStore) GetRef(ctx context.Context, name string) (Ref, error) {
	var ref Ref
	err := s.view(ctx, func(txn *badger.Txn) error {
		it, err := txn.Get(refKey(name))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error { return decodeJSON("ref", v, &ref) })
	})
	return ref, err
}

func decodeJSON(what string, v []byte, into any) error {
	b, err := decodeVersioned(what, v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

func (s *BadgerStore) DeleteRef(ctx context.Context, name string) error {
	return s.update(ctx, func(txn *badger.Txn) error { return txn.Delete(refKey(name)) })
}

func (s *BadgerStore) Refs(ctx context.Context) ([]Ref, error) {
	var refs []Ref
	err := s.scan(ctx, prefixRef, func(k, v []byte) error {
		var r Ref
		if err := decodeJSON("ref", v, &r); err != nil {
			return err
		}
		refs = append(refs, r)
		return nil
	})
	return refs, err
}

// scan calls fn with every key (prefix included) and value under prefix,
// in key order.
func (s *BadgerStore) scan(ctx context.Context, prefix string, fn func(k, v []byte) error) error {
	return s.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = []byte(prefix)
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *BadgerStore) Hold(ctx context.Context, l Lease) error {
	if l.ID == "" {
		return errors.New("lease has no id")
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return s.update(ctx, func(txn *badger.Txn) error { return txn.Set(leaseKey(l.ID), encodeVersioned(b)) })
}

func (s *BadgerStore) Release(ctx context.Context, id string) error {
	return s.update(ctx, func(txn *badger.Txn) error { return txn.Delete(leaseKey(id)) })
}

func (s *BadgerStore) Leases(ctx context.Context, now time.Time) ([]Lease, error) {
	var live []Lease
	var stale []string
	err := s.scan(ctx, prefixLease, func(k, v []byte) error {
		var l Lease
		if err := decodeJSON("lease", v, &l); err != nil {
			return err
		}
		if leaseLive(&l, now) {
			live = append(live, l)
		} else {
			stale = append(stale, l.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(stale) > 0 && s.snapshotDir == "" {
		err = s.update(ctx, func(txn *badger.Txn) error {
			for _, id := range stale {
				if err := txn.Delete(leaseKey(id)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	sort.Slice(live, func(i, j int) bool { return live[i].ID < live[j].ID })
	return live, err
}

func (s *BadgerStore) PutBase(ctx context.Context, b Base) error {
	if b.Template == "" || strings.ContainsRune(b.Agent, 0) {
		return errors.New("base has no template name")
	}
	if b.Updated.IsZero() {
		b.Updated = time.Now()
	}
	b.Updated = b.Updated.UTC()
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return s.update(ctx, func(txn *badger.Txn) error { return txn.Set(baseKey(b.Agent, b.Template), encodeVersioned(v)) })
}

func (s *BadgerStore) GetBase(ctx context.Context, agent, template string) (Base, error) {
	var b Base
	err := s.view(ctx, func(txn *badger.Txn) error {
		it, err := txn.Get(baseKey(agent, template))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error { return decodeJSON("base", v, &b) })
	})
	return b, err
}

func (s *BadgerStore) Bases(ctx context.Context) ([]Base, error) {
	var out []Base
	err := s.scan(ctx, prefixBase, func(_, v []byte) error {
		var b Base
		if err := decodeJSON("base", v, &b); err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	return out, err
}

func (s *BadgerStore) StatGet(ctx context.Context, k StatKey) (string, bool, error) {
	var digest string
	var found bool
	err := s.view(ctx, func(txn *badger.Txn) error {
		it, err := txn.Get(statKeyBytes(k))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			b, err := decodeVersioned("stat entry", v)
			if err != nil {
				return err
			}
			digest, found = string(b), true
			return nil
		})
	})
	return digest, found, err
}

func (s *BadgerStore) StatPut(ctx context.Context, k StatKey, digest string) error {
	return s.update(ctx, func(txn *badger.Txn) error {
		return txn.Set(statKeyBytes(k), encodeVersioned([]byte(digest)))
	})
}

func (s *BadgerStore) StatPutAll(ctx context.Context, entries map[StatKey]string) error {
	keys := make([]StatKey, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	// a few thousand small entries fit one transaction; split larger sets
	// well below Badger's transaction size limit
	for start := 0; start < len(keys); start += 5000 {
		batch := keys[start:min(start+5000, len(keys))]
		if err := s.update(ctx, func(txn *badger.Txn) error {
			for _, k := range batch {
				if err := txn.Set(statKeyBytes(k), encodeVersioned([]byte(entries[k]))); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func (s *BadgerStore) StatScan(ctx context.Context, dir string, fn func(StatKey, string) error) error {
	dir = strings.TrimSuffix(dir, "/")
	// dir itself ends in NUL, its descendants continue with '/'
	return s.scan(ctx, prefixStat+dir, func(key, v []byte) error {
		rest := key[len(prefixStat)+len(dir):]
		if len(rest) == 0 || rest[0] != 0 && rest[0] != '/' {
			return nil // a sibling such as dir2/x
		}
		k, err := decodeStatKey(key)
		if err != nil {
			return nil // unreadable: a miss; PruneStatCache drops it
		}
		b, err := decodeVersioned("stat entry", v)
		if err != nil {
			return nil
		}
		return fn(k, string(b))
	})
}

// Path returns where the store keeps its files, for messages.
func (s *BadgerStore) Path() string {
	if abs, err := filepath.Abs(s.dir); err == nil {
		return abs
	}
	return s.dir
}
