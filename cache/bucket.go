package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Bucket is a namespace of raw keys in the cache's Badger store for other
// packages (the build service keeps its build records and queue here, so
// that one directory and one lock hold all of wrenn's state). Keys live
// under "x/<name>/", apart from every cache record.
type Bucket struct {
	s      *BadgerStore
	prefix string
}

// Bucket returns the namespace name ([a-z0-9-]+, e.g. "builds").
func (s *BadgerStore) Bucket(name string) (*Bucket, error) {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
	}) {
		return nil, fmt.Errorf("bucket name %q: want lower-case letters, digits and '-'", name)
	}
	return &Bucket{s: s, prefix: prefixBucket + name + "/"}, nil
}

// BucketTxn reads and writes one bucket atomically (see Bucket.Update).
type BucketTxn struct {
	txn    *badger.Txn
	prefix string
}

// Get returns a copy of the value, or ErrNotFound.
func (t *BucketTxn) Get(key string) ([]byte, error) {
	it, err := t.txn.Get([]byte(t.prefix + key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return it.ValueCopy(nil)
}

// Put sets key to val.
func (t *BucketTxn) Put(key string, val []byte) error {
	return t.txn.Set([]byte(t.prefix+key), val)
}

// Delete removes key (not an error when missing).
func (t *BucketTxn) Delete(key string) error { return t.txn.Delete([]byte(t.prefix + key)) }

// Scan calls fn for every key starting with prefix, in key order, with the
// key (without the bucket prefix) and a value valid only during the call.
func (t *BucketTxn) Scan(prefix string, fn func(key string, val []byte) error) error {
	o := badger.DefaultIteratorOptions
	o.Prefix = []byte(t.prefix + prefix)
	it := t.txn.NewIterator(o)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		k := string(item.Key()[len(t.prefix):])
		if err := item.Value(func(v []byte) error { return fn(k, v) }); err != nil {
			return err
		}
	}
	return nil
}

// View runs fn in a read-only transaction.
func (b *Bucket) View(ctx context.Context, fn func(*BucketTxn) error) error {
	return b.s.view(ctx, func(txn *badger.Txn) error { return fn(&BucketTxn{txn: txn, prefix: b.prefix}) })
}

// Update runs fn in a read-write transaction: all of its writes happen or
// none do. Writers in this process are serialised, so fn sees no
// concurrent change.
func (b *Bucket) Update(ctx context.Context, fn func(*BucketTxn) error) error {
	return b.s.update(ctx, func(txn *badger.Txn) error { return fn(&BucketTxn{txn: txn, prefix: b.prefix}) })
}

// Get, Put and Delete are one-key transactions.
func (b *Bucket) Get(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := b.View(ctx, func(t *BucketTxn) error {
		var err error
		v, err = t.Get(key)
		return err
	})
	return v, err
}

func (b *Bucket) Put(ctx context.Context, key string, val []byte) error {
	return b.Update(ctx, func(t *BucketTxn) error { return t.Put(key, val) })
}

func (b *Bucket) Delete(ctx context.Context, key string) error {
	return b.Update(ctx, func(t *BucketTxn) error { return t.Delete(key) })
}
