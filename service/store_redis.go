package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// RedisStore is the Records backend for several controllers sharing one
// Redis (`wrenn serve --queue redis://…`): every controller reads and
// writes the same records, so any of them can answer for, cancel, or take
// over any build.
//
// Keys, under a prefix ("wrenn:" by default):
//
//	build:<id>                      record (protobuf)
//	archive:<id>                    uploaded archive, until the build ends
//	builds                          sorted set of every id (lexicographic, score 0)
//	builds:status:<status>          ids by status
//	builds:name:<name>              ids by name
//	builds:sn:<status>:<name>       ids by status and name
//	builds:finished                 finished ids, scored by completion (unix µs, exact in a float64)
//
// Ids sort by creation time, so the lexicographic sets page newest first
// with ZREVRANGEBYLEX … LIMIT: O(log n + page). Updates are optimistic
// transactions (WATCH the record, MULTI/EXEC), retried on conflict.
type RedisStore struct {
	c      *redis.Client
	prefix string
}

var _ Records = (*RedisStore)(nil)

// NewRedisStore uses c with the key prefix ("" is "wrenn:").
func NewRedisStore(c *redis.Client, prefix string) *RedisStore {
	if prefix == "" {
		prefix = "wrenn:"
	}
	return &RedisStore{c: c, prefix: prefix}
}

// Close is a no-op: the client belongs to the caller.
func (s *RedisStore) Close() error { return nil }

func (s *RedisStore) recordKey(id string) string  { return s.prefix + "build:" + id }
func (s *RedisStore) archiveKey(id string) string { return s.prefix + "archive:" + id }
func (s *RedisStore) finishedKey() string         { return s.prefix + "builds:finished" }

// indexSets are the lexicographic sets a record is in.
func (s *RedisStore) indexSets(b *buildv1.Build) []string {
	return []string{
		s.prefix + "builds",
		s.prefix + "builds:status:" + b.Status,
		s.prefix + "builds:name:" + b.Name,
		s.prefix + "builds:sn:" + b.Status + ":" + b.Name,
	}
}

func (s *RedisStore) listSet(q ListQuery) string {
	switch {
	case q.Status != "" && q.Name != "":
		return s.prefix + "builds:sn:" + q.Status + ":" + q.Name
	case q.Status != "":
		return s.prefix + "builds:status:" + q.Status
	case q.Name != "":
		return s.prefix + "builds:name:" + q.Name
	}
	return s.prefix + "builds"
}

// writeIndexes queues the index changes from old (nil: new) to b.
func (s *RedisStore) writeIndexes(ctx context.Context, pipe redis.Pipeliner, old, b *buildv1.Build) {
	keep := map[string]bool{}
	for _, k := range s.indexSets(b) {
		keep[k] = true
		pipe.ZAdd(ctx, k, redis.Z{Member: b.Id})
	}
	if old != nil {
		for _, k := range s.indexSets(old) {
			if !keep[k] {
				pipe.ZRem(ctx, k, old.Id)
			}
		}
	}
	if Finished(b.Status) {
		pipe.ZAdd(ctx, s.finishedKey(), redis.Z{Score: float64(completedNanos(b) / 1e3), Member: b.Id})
		if old != nil && !Finished(old.Status) {
			pipe.Del(ctx, s.archiveKey(b.Id))
		}
	}
}

// Insert writes the record, its indexes and its archive in one MULTI.
func (s *RedisStore) Insert(ctx context.Context, b *buildv1.Build, archive []byte) error {
	v, err := proto.Marshal(b)
	if err != nil {
		return err
	}
	_, err = s.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, s.recordKey(b.Id), v, 0)
		if len(archive) > 0 {
			pipe.Set(ctx, s.archiveKey(b.Id), archive, 0)
		}
		s.writeIndexes(ctx, pipe, nil, b)
		return nil
	})
	return err
}

func decodeBuild(v []byte) (*buildv1.Build, error) {
	b := &buildv1.Build{}
	return b, proto.Unmarshal(v, b)
}

// Get reads one record.
func (s *RedisStore) Get(ctx context.Context, id string) (*buildv1.Build, error) {
	v, err := s.c.Get(ctx, s.recordKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	return decodeBuild(v)
}

// Update is an optimistic transaction on the record, retried when another
// controller wrote it in between.
func (s *RedisStore) Update(ctx context.Context, id string, fn func(*buildv1.Build) error) (*buildv1.Build, error) {
	key := s.recordKey(id)
	for attempt := 0; ; attempt++ {
		var out *buildv1.Build
		err := s.c.Watch(ctx, func(tx *redis.Tx) error {
			v, err := tx.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				return errNotFound
			}
			if err != nil {
				return err
			}
			old, err := decodeBuild(v)
			if err != nil {
				return err
			}
			b := proto.CloneOf(old)
			if err := fn(b); err != nil {
				return err
			}
			nv, err := proto.Marshal(b)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.Set(ctx, key, nv, 0)
				s.writeIndexes(ctx, pipe, old, b)
				return nil
			})
			out = b
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) && attempt < 100 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// Archive returns the stored archive, nil if none.
func (s *RedisStore) Archive(ctx context.Context, id string) ([]byte, error) {
	v, err := s.c.Get(ctx, s.archiveKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return v, err
}

// List reads one page of ids from a set (ZREVRANGEBYLEX), then their
// records (MGET).
func (s *RedisStore) List(ctx context.Context, q ListQuery) ([]*buildv1.Build, string, error) {
	max := "+"
	if q.After != "" {
		max = "(" + q.After
	}
	ids, err := s.c.ZRangeArgs(ctx, redis.ZRangeArgs{Key: s.listSet(q), Start: max, Stop: "-", ByLex: true, Rev: true, Count: int64(q.PageSize) + 1}).Result()
	if err != nil || len(ids) == 0 {
		return nil, "", err
	}
	next := ""
	if len(ids) > q.PageSize {
		ids = ids[:q.PageSize]
		next = ids[len(ids)-1]
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.recordKey(id)
	}
	vals, err := s.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, "", err
	}
	out := make([]*buildv1.Build, 0, len(ids))
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // pruned between the two reads
		}
		b, err := decodeBuild([]byte(str))
		if err != nil {
			return nil, "", fmt.Errorf("build %s: %w", ids[i], err)
		}
		out = append(out, b)
	}
	return out, next, nil
}

// ByStatus reads the status set, oldest first.
func (s *RedisStore) ByStatus(ctx context.Context, status string) ([]string, error) {
	return s.c.ZRangeArgs(ctx, redis.ZRangeArgs{Key: s.prefix + "builds:status:" + status, Start: "-", Stop: "+", ByLex: true}).Result()
}

// Prune deletes finished builds completed before cutoff, oldest first, in
// batches; several controllers pruning at once delete the same keys twice,
// which is harmless.
func (s *RedisStore) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	total := 0
	for {
		ids, err := s.c.ZRangeArgs(ctx, redis.ZRangeArgs{
			Key: s.finishedKey(), Start: "-inf", Stop: "(" + fmt.Sprint(cutoff.UnixMicro()), ByScore: true, Count: pruneBatch,
		}).Result()
		if err != nil || len(ids) == 0 {
			return total, err
		}
		for _, id := range ids {
			b, err := s.Get(ctx, id)
			if errors.Is(err, errNotFound) {
				s.c.ZRem(ctx, s.finishedKey(), id)
				continue
			}
			if err != nil {
				return total, err
			}
			if _, err := s.c.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.Del(ctx, s.recordKey(id), s.archiveKey(id))
				for _, k := range s.indexSets(b) {
					pipe.ZRem(ctx, k, id)
				}
				pipe.ZRem(ctx, s.finishedKey(), id)
				return nil
			}); err != nil {
				return total, err
			}
			total++
		}
		if len(ids) < pruneBatch {
			return total, nil
		}
	}
}
