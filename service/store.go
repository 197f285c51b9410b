package service

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// Key prefixes in the service's Badger store. Build records and archives
// live here whatever the queue backend is; the Badger queue shares the DB
// so that a record and its queue entry are written in one transaction.
const (
	prefixBuild   = "b/"
	prefixArchive = "a/"
	prefixQueue   = "q/"
	keyQueueSeq   = "qseq"
)

// errNotFound is returned for an unknown build id.
var errNotFound = errors.New("build not found")

// Store keeps build records and archives in an embedded Badger database.
type Store struct {
	db *badger.DB
	// mu serialises writers: one process owns the directory, so in-process
	// serialisation removes every transaction conflict.
	mu sync.Mutex
}

// OpenStore opens (creating) the store in dir.
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
	return &Store{db: db}, nil
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

// Get reads one record.
func (s *Store) Get(id string) (*buildv1.Build, error) {
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

func putBuild(txn *badger.Txn, b *buildv1.Build) error {
	v, err := proto.Marshal(b)
	if err != nil {
		return err
	}
	return txn.Set([]byte(prefixBuild+b.Id), v)
}

// Update applies fn to the record in one transaction and returns the
// result. fn's error aborts the update.
func (s *Store) Update(id string, fn func(*buildv1.Build) error) (*buildv1.Build, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b *buildv1.Build
	err := s.db.Update(func(txn *badger.Txn) error {
		var err error
		if b, err = getBuild(txn, id); err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		return putBuild(txn, b)
	})
	return b, err
}

// write runs fn in a serialised read-write transaction.
func (s *Store) write(fn func(*badger.Txn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Update(fn)
}

// Insert stores a new record and its archive (if any); extra runs in the
// same transaction (the Badger queue's push).
func (s *Store) Insert(b *buildv1.Build, archive []byte, extra func(*badger.Txn) error) error {
	return s.write(func(txn *badger.Txn) error {
		if err := putBuild(txn, b); err != nil {
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
func (s *Store) Archive(id string) ([]byte, error) {
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

// All returns every record, oldest first (ids sort by creation time).
func (s *Store) All() ([]*buildv1.Build, error) {
	var out []*buildv1.Build
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixBuild), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			b := &buildv1.Build{}
			if err := it.Item().Value(func(v []byte) error { return proto.Unmarshal(v, b) }); err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	return out, err
}
