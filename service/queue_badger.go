package service

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// BadgerQueue is the default queue: entries in the service's Badger store
// under "q/<seq>", so that a build's record and its queue entry are
// written in one transaction and survive kill -9 together.
type BadgerQueue struct {
	s      *Store
	seq    atomic.Uint64
	mu     sync.Mutex // one Pop at a time takes the head
	wake   chan struct{}
	closed chan struct{}
	once   sync.Once
}

var _ Queue = (*BadgerQueue)(nil)

// NewBadgerQueue returns the queue kept in s.
func NewBadgerQueue(s *Store) (*BadgerQueue, error) {
	q := &BadgerQueue{s: s, wake: make(chan struct{}, 1), closed: make(chan struct{})}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixQueue), Reverse: true})
		defer it.Close()
		// Reverse iteration seeks to the prefix followed by 0xff.
		it.Seek(append([]byte(prefixQueue), 0xff))
		if it.Valid() {
			q.seq.Store(binary.BigEndian.Uint64(it.Item().Key()[len(prefixQueue):]))
		}
		return nil
	})
	return q, err
}

func (q *BadgerQueue) key() []byte {
	k := make([]byte, len(prefixQueue)+8)
	copy(k, prefixQueue)
	binary.BigEndian.PutUint64(k[len(prefixQueue):], q.seq.Add(1))
	return k
}

// pushTxn adds id inside an existing transaction (Store.Insert's).
func (q *BadgerQueue) pushTxn(txn *badger.Txn, id string) error {
	return txn.Set(q.key(), []byte(id))
}

// notify wakes a waiting Pop; call after the pushing transaction commits.
func (q *BadgerQueue) notify() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Push appends id.
func (q *BadgerQueue) Push(_ context.Context, id string) error {
	if err := q.s.write(func(txn *badger.Txn) error { return q.pushTxn(txn, id) }); err != nil {
		return err
	}
	q.notify()
	return nil
}

// Pop removes and returns the oldest id, waiting for one.
func (q *BadgerQueue) Pop(ctx context.Context) (string, error) {
	for {
		id, ok, err := q.take()
		if err != nil {
			return "", err
		}
		if ok {
			// More may be waiting: pass the wake-up on to another worker.
			q.notify()
			return id, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-q.closed:
			return "", errQueueClosed
		case <-q.wake:
		}
	}
}

func (q *BadgerQueue) take() (string, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var id string
	var found bool
	err := q.s.write(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixQueue)})
		defer it.Close()
		it.Rewind()
		if !it.Valid() {
			return nil
		}
		key := it.Item().KeyCopy(nil)
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		id, found = string(v), true
		return txn.Delete(key)
	})
	return id, found, err
}

// Queued lists the waiting ids, oldest first.
func (q *BadgerQueue) Queued(context.Context) ([]string, error) {
	var ids []string
	err := q.s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixQueue), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			ids = append(ids, string(v))
		}
		return nil
	})
	return ids, err
}

// Close wakes every Pop with errQueueClosed; the store stays open.
func (q *BadgerQueue) Close() error {
	q.once.Do(func() { close(q.closed) })
	return nil
}
