package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisQueueKey is the seed's list: RPUSH to enqueue, BLPOP to take.
const RedisQueueKey = "wrenn:build_queue"

// RedisQueue is the seed's queue backend, for several servers sharing one
// queue. Build records stay in the local Badger store.
type RedisQueue struct {
	c   *redis.Client
	key string
}

var _ Queue = (*RedisQueue)(nil)

// NewRedisQueue connects to a redis:// URL and checks it answers.
func NewRedisQueue(ctx context.Context, rawURL string) (*RedisQueue, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("invalid redis queue url: %v", err)
	}
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("cannot reach redis at %s: %v", opts.Addr, err)
	}
	return &RedisQueue{c: c, key: RedisQueueKey}, nil
}

// Push appends id (RPUSH).
func (q *RedisQueue) Push(ctx context.Context, id string) error {
	return q.c.RPush(ctx, q.key, id).Err()
}

// Pop takes the oldest id (BLPOP), waiting in short rounds so that ctx
// is honoured promptly.
func (q *RedisQueue) Pop(ctx context.Context) (string, error) {
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		res, err := q.c.BLPop(ctx, time.Second, q.key).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if errors.Is(err, redis.ErrClosed) {
			return "", errQueueClosed
		}
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", fmt.Errorf("redis queue: %w", err)
		}
		return res[1], nil
	}
}

// Queued lists the waiting ids (LRANGE).
func (q *RedisQueue) Queued(ctx context.Context) ([]string, error) {
	return q.c.LRange(ctx, q.key, 0, -1).Result()
}

// Close closes the client.
func (q *RedisQueue) Close() error { return q.c.Close() }
