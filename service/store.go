package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// Key layout of the service's Badger store. Records and archives live here
// with the Badger queue, so that a record and its queue entry are written
// in one transaction.
//
//	b/<id>                            record (protobuf)
//	a/<id>                            uploaded archive, until the build ends
//	q/<seq>                           queue entry (BadgerQueue)
//	i/s/<status>/<id>                 index: by status
//	i/n/<name>\x00<id>                index: by name
//	i/sn/<status>/<name>\x00<id>      index: by status and name
//	i/f/<completed, 16 hex ns>/<id>   index: finished builds by completion (Prune)
//	m/index                           index layout version
const (
	prefixBuild    = "b/"
	prefixArchive  = "a/"
	prefixQueue    = "q/"
	prefixStatus   = "i/s/"
	prefixName     = "i/n/"
	prefixStatName = "i/sn/"
	prefixFinished = "i/f/"
	keyIndexVer    = "m/index"
	indexVersion   = "1"
)

// Store is the embedded Records backend: a Badger database owned by one
// `wrenn serve` process.
type Store struct {
	db *badger.DB
	// mu serialises writers: one process owns the directory, so in-process
	// serialisation removes every transaction conflict.
	mu sync.Mutex
}

var _ Records = (*Store)(nil)

// OpenStore opens (creating) the store in dir, building the indexes of a
// store written before they existed.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create service directory: %w", err)
	}
	opts := badger.DefaultOptions(filepath.Clean(dir)).
		WithLogger(nil).
		WithSyncWrites(true). // a queued build survives kill -9
		WithNumVersionsToKeep(1).
		WithMemTableSize(16 << 20).
		WithValueLogFileSize(64 << 20)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("cannot open service store %s: %v", dir, firstLine(err))
	}
	s := &Store{db: db}
	if err := s.reindex(); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot index service store %s: %v", dir, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func firstLine(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// indexKeys are the index entries of a record.
func indexKeys(b *buildv1.Build) [][]byte {
	keys := [][]byte{
		[]byte(prefixStatus + b.Status + "/" + b.Id),
		[]byte(prefixName + b.Name + "\x00" + b.Id),
		[]byte(prefixStatName + b.Status + "/" + b.Name + "\x00" + b.Id),
	}
	if Finished(b.Status) {
		keys = append(keys, []byte(fmt.Sprintf("%s%016x/%s", prefixFinished, uint64(completedNanos(b)), b.Id)))
	}
	return keys
}

// reindex writes the indexes of every record once, for stores created
// before they existed.
func (s *Store) reindex() error {
	done := false
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get([]byte(keyIndexVer))
		done = err == nil
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		return err
	})
	if err != nil || done {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixBuild), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			b := &buildv1.Build{}
			if err := it.Item().Value(func(v []byte) error { return proto.Unmarshal(v, b) }); err != nil {
				return err
			}
			for _, k := range indexKeys(b) {
				if err := wb.Set(k, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := wb.Set([]byte(keyIndexVer), []byte(indexVersion)); err != nil {
		return err
	}
	return wb.Flush()
}

// Get reads one record.
func (s *Store) Get(_ context.Context, id string) (*buildv1.Build, error) {
	var b *buildv1.Build
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		b, err = getBuild(txn, id)
		return err
	})
	return b, err
}

func getBuild(txn *badger.Txn, id string) (*buildv1.Build, error) {
	it, err := txn.Get([]byte(prefixBuild + id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	b := &buildv1.Build{}
	err = it.Value(func(v []byte) error { return proto.Unmarshal(v, b) })
	return b, err
}

// putBuild writes b and moves its index entries from old's (nil for a new
// record); a build that just finished loses its archive.
func putBuild(txn *badger.Txn, old, b *buildv1.Build) error {
	v, err := proto.Marshal(b)
	if err != nil {
		return err
	}
	if err := txn.Set([]byte(prefixBuild+b.Id), v); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, k := range indexKeys(b) {
		keep[string(k)] = true
	}
	if old != nil {
		for _, k := range indexKeys(old) {
			if !keep[string(k)] {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
		}
		if Finished(b.Status) && !Finished(old.Status) && b.HasArchive {
			if err := txn.Delete([]byte(prefixArchive + b.Id)); err != nil {
				return err
			}
		}
	}
	for k := range keep {
		if err := txn.Set([]byte(k), nil); err != nil {
			return err
		}
	}
	return nil
}

// Update applies fn to the record in one transaction.
func (s *Store) Update(_ context.Context, id string, fn func(*buildv1.Build) error) (*buildv1.Build, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b *buildv1.Build
	err := s.db.Update(func(txn *badger.Txn) error {
		old, err := getBuild(txn, id)
		if err != nil {
			return err
		}
		b = proto.CloneOf(old)
		if err := fn(b); err != nil {
			return err
		}
		return putBuild(txn, old, b)
	})
	return b, err
}

// write runs fn in a serialised read-write transaction.
func (s *Store) write(fn func(*badger.Txn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Update(fn)
}

// Insert stores a new record and its archive.
func (s *Store) Insert(_ context.Context, b *buildv1.Build, archive []byte) error {
	return s.insert(b, archive, nil)
}

// insert is Insert with extra run in the same transaction (the Badger
// queue's push).
func (s *Store) insert(b *buildv1.Build, archive []byte, extra func(*badger.Txn) error) error {
	return s.write(func(txn *badger.Txn) error {
		if err := putBuild(txn, nil, b); err != nil {
			return err
		}
		if len(archive) > 0 {
			if err := txn.Set([]byte(prefixArchive+b.Id), archive); err != nil {
				return err
			}
		}
		if extra != nil {
			return extra(txn)
		}
		return nil
	})
}

// Archive returns the archive stored with a build, nil if none.
func (s *Store) Archive(_ context.Context, id string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(prefixArchive + id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out, err = it.ValueCopy(nil)
		return err
	})
	return out, err
}

// listPrefix is the key range a query reads: the records themselves (ids
// sort by creation) or one index.
func listPrefix(q ListQuery) (prefix string, index bool) {
	switch {
	case q.Status != "" && q.Name != "":
		return prefixStatName + q.Status + "/" + q.Name + "\x00", true
	case q.Status != "":
		return prefixStatus + q.Status + "/", true
	case q.Name != "":
		return prefixName + q.Name + "\x00", true
	}
	return prefixBuild, false
}

// List reads one page backwards from the token: O(page size).
func (s *Store) List(_ context.Context, q ListQuery) ([]*buildv1.Build, string, error) {
	prefix, index := listPrefix(q)
	var out []*buildv1.Build
	next := ""
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix), Reverse: true, PrefetchValues: !index, PrefetchSize: q.PageSize})
		defer it.Close()
		seek := []byte(prefix + "\xff")
		if q.After != "" {
			seek = []byte(prefix + q.After)
		}
		for it.Seek(seek); it.Valid(); it.Next() {
			id := string(it.Item().Key()[len(prefix):])
			if id == q.After {
				continue
			}
			if len(out) == q.PageSize {
				next = out[len(out)-1].Id
				return nil
			}
			var b *buildv1.Build
			var err error
			if index {
				b, err = getBuild(txn, id)
			} else {
				b = &buildv1.Build{}
				err = it.Item().Value(func(v []byte) error { return proto.Unmarshal(v, b) })
			}
			if err != nil {
				return fmt.Errorf("build %s: %w", id, err)
			}
			out = append(out, b)
		}
		return nil
	})
	return out, next, err
}

// ByStatus reads the status index.
func (s *Store) ByStatus(_ context.Context, status string) ([]string, error) {
	prefix := prefixStatus + status + "/"
	var ids []string
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			ids = append(ids, string(it.Item().Key()[len(prefix):]))
		}
		return nil
	})
	return ids, err
}

// pruneBatch bounds one Prune transaction (Badger limits a txn's size).
const pruneBatch = 500

// Prune walks the finished index from its oldest entry to cutoff.
func (s *Store) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	end := []byte(fmt.Sprintf("%s%016x", prefixFinished, uint64(cutoff.UnixNano())))
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n := 0
		err := s.write(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixFinished)})
			var ids []string
			for it.Rewind(); it.Valid() && len(ids) < pruneBatch; it.Next() {
				k := it.Item().Key()
				if string(k) >= string(end) {
					break
				}
				ids = append(ids, string(k[len(prefixFinished)+17:]))
			}
			it.Close()
			for _, id := range ids {
				b, err := getBuild(txn, id)
				if err != nil {
					return fmt.Errorf("build %s: %w", id, err)
				}
				for _, k := range append(indexKeys(b), []byte(prefixBuild+id), []byte(prefixArchive+id)) {
					if err := txn.Delete(k); err != nil {
						return err
					}
				}
			}
			n = len(ids)
			return nil
		})
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}
