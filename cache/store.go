package cache

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned for a key, ref or lease the store does not hold.
var ErrNotFound = errors.New("not found")

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("cache store is closed")

// Store is the layer cache as its users see it. BadgerStore is the real one;
// MemStore serves unit tests; cachetest.Run checks that both behave alike.
//
// Consumers (the executor, the CLI) should declare the few methods they
// use as their own interface rather than depend on all of Store.
type Store interface {
	// Get returns the record for key, or ErrNotFound.
	Get(ctx context.Context, key string) (Record, error)
	// Lookup returns the records of those keys that exist, in one read
	// transaction: the executor's "which steps are cached" question.
	Lookup(ctx context.Context, keys []string) (map[string]Record, error)
	// Put stores rec, replacing any record with the same key. Call it only
	// after the snapshot is durable on the agent. Created and LastUsed
	// default to now.
	Put(ctx context.Context, rec Record) error
	// Delete removes the record (not an error when missing).
	Delete(ctx context.Context, key string) error
	// Touch marks keys as used at t: LastUsed = t, Hits + 1. Missing keys
	// are ignored.
	Touch(ctx context.Context, keys []string, t time.Time) error
	// Records calls fn for every record in key order; with preimages false
	// Preimage is left nil, which keeps listing fast. A non-nil error from
	// fn stops the walk and is returned.
	Records(ctx context.Context, preimages bool, fn func(Record) error) error
	// KeysWithPrefix returns the keys that start with prefix, at most limit
	// of them (0: no limit).
	KeysWithPrefix(ctx context.Context, prefix string, limit int) ([]string, error)
	// Children returns the keys whose records name parent among Parents.
	Children(ctx context.Context, parent string) ([]string, error)

	PutRef(ctx context.Context, ref Ref) error
	// GetRef returns the ref, or ErrNotFound.
	GetRef(ctx context.Context, name string) (Ref, error)
	DeleteRef(ctx context.Context, name string) error
	// Refs returns every ref sorted by name.
	Refs(ctx context.Context) ([]Ref, error)

	// Hold stores (or replaces) a lease.
	Hold(ctx context.Context, l Lease) error
	// Release ends a lease (not an error when missing).
	Release(ctx context.Context, id string) error
	// Leases returns the leases still in force at now: not expired and
	// whose process is alive. Stale leases are deleted on the way.
	Leases(ctx context.Context, now time.Time) ([]Lease, error)

	// PutBase stores what is known about a base template on an agent.
	PutBase(ctx context.Context, b Base) error
	// GetBase returns it, or ErrNotFound.
	GetBase(ctx context.Context, agent, template string) (Base, error)
	// Bases returns every stored base, by agent then template.
	Bases(ctx context.Context) ([]Base, error)

	// StatGet returns the content digest stored for a file version.
	StatGet(ctx context.Context, k StatKey) (string, bool, error)
	StatPut(ctx context.Context, k StatKey, digest string) error
	// StatPutAll stores many entries at once (one write transaction per
	// few thousand entries).
	StatPutAll(ctx context.Context, entries map[StatKey]string) error
	// StatScan calls fn for every entry whose path is dir or below it, in
	// one pass.
	StatScan(ctx context.Context, dir string, fn func(k StatKey, digest string) error) error

	Close() error
}
