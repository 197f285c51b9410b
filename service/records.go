package service

import (
	"context"
	"errors"
	"time"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// Records keeps build records and their uploaded archives. Two backends
// implement it: the embedded Badger Store (one controller) and RedisStore
// (several controllers sharing one Redis).
//
// Invariants every backend keeps:
//   - ids sort by creation time (newID), so "newest first" is descending id
//     order and a page token is the last id of the previous page;
//   - List and ByStatus read indexes (all builds, by status, by name, by
//     status and name), never every record: a page costs O(page size);
//   - a build's archive is deleted in the same write that makes its status
//     final (success, failed, cancelled): only a queued or running build
//     can need it;
//   - Prune removes finished builds whose completed_at is older than a cut
//     off, with their index entries, reading only what it removes.
type Records interface {
	// Insert stores a new record and its archive (nil if none).
	Insert(ctx context.Context, b *buildv1.Build, archive []byte) error
	Get(ctx context.Context, id string) (*buildv1.Build, error)
	// Update applies fn to the record atomically and returns the result;
	// fn's error aborts the update and is returned as is.
	Update(ctx context.Context, id string, fn func(*buildv1.Build) error) (*buildv1.Build, error)
	// Archive returns the archive stored with a build, nil if none.
	Archive(ctx context.Context, id string) ([]byte, error)
	// List returns a page of records, newest first, and the token of the
	// next page ("" after the last).
	List(ctx context.Context, q ListQuery) ([]*buildv1.Build, string, error)
	// ByStatus returns the ids of the builds with status, oldest first.
	ByStatus(ctx context.Context, status string) ([]string, error)
	// Prune deletes finished builds completed before cutoff and returns
	// how many it deleted.
	Prune(ctx context.Context, cutoff time.Time) (int, error)
	Close() error
}

// ListQuery selects a page of ListBuilds.
type ListQuery struct {
	Status, Name string
	// PageSize is at least 1; After is the previous page's token (the
	// id of its last build), "" for the first page.
	PageSize int
	After    string
}

// errNotFound is returned for an unknown build id.
var errNotFound = errors.New("build not found")

// completedNanos is the prune index's time of a finished build.
func completedNanos(b *buildv1.Build) int64 {
	if b.CompletedAt != nil {
		return b.CompletedAt.AsTime().UnixNano()
	}
	if b.CreatedAt != nil {
		return b.CreatedAt.AsTime().UnixNano()
	}
	return 0
}
