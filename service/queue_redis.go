package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisQueueKey is the seed's list: RPUSH to enqueue, workers take from
// the head.
const RedisQueueKey = "wrenn:build_queue"

// DefaultLeaseTTL is how long a controller's hold on a build it runs
// lasts without a heartbeat; a build whose controller died is taken back
// into the queue about this long after (plus one reaper round).
const DefaultLeaseTTL = 15 * time.Second

// RedisQueue is the queue for several controllers sharing one Redis. A
// worker moves an id from the queue to a processing list (BLMOVE) and
// takes a lease on it (lease:<id>, a token with a TTL) that a heartbeat
// renews every TTL/3 while the build runs. Ack removes both when the
// worker is done with the id. A controller that dies stops renewing: the
// reaper of any live controller finds the id in the processing list with
// no lease (for longer than the TTL, so a worker between BLMOVE and its
// lease is not robbed), resets its record to pending and pushes it back
// (Requeue, one Lua script: exactly one reaper wins).
type RedisQueue struct {
	c          *redis.Client
	key        string // the queue list
	processing string // ids taken by a worker
	leasePfx   string
	owner      string
	ttl        time.Duration

	mu     sync.Mutex
	held   map[string]string    // id -> lease token, while this controller runs it
	noLse  map[string]time.Time // reaper: first seen without a lease
	onLost func(id string)

	stop chan struct{}
	once sync.Once
}

var _ LeasedQueue = (*RedisQueue)(nil)

// NewRedisQueue connects to a redis:// URL and checks it answers; ttl is
// the lease TTL (0 is DefaultLeaseTTL).
func NewRedisQueue(ctx context.Context, rawURL string, ttl time.Duration) (*RedisQueue, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("invalid redis queue url: %v", err)
	}
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("cannot reach redis at %s: %v", opts.Addr, err)
	}
	return NewRedisQueueOn(c, RedisQueueKey, ttl), nil
}

// NewRedisQueueOn is a queue on the list key over c, with a lease TTL (0 is
// DefaultLeaseTTL).
func NewRedisQueueOn(c *redis.Client, key string, ttl time.Duration) *RedisQueue {
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	host, _ := os.Hostname()
	var r [4]byte
	_, _ = rand.Read(r[:])
	q := &RedisQueue{
		c: c, key: key, processing: key + ":processing", leasePfx: key + ":lease:",
		owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(r[:])),
		ttl:   ttl, held: map[string]string{}, noLse: map[string]time.Time{}, stop: make(chan struct{}),
	}
	go q.heartbeat()
	return q
}

// Client is the connection, shared with the RedisStore.
func (q *RedisQueue) Client() *redis.Client { return q.c }

// LeaseTTL is the lease lifetime.
func (q *RedisQueue) LeaseTTL() time.Duration { return q.ttl }

// OnLeaseLost sets what to do when a heartbeat finds this controller's
// lease on id gone (it was taken back as dead): stop running the build.
func (q *RedisQueue) OnLeaseLost(fn func(id string)) {
	q.mu.Lock()
	q.onLost = fn
	q.mu.Unlock()
}

// Push appends id (RPUSH).
func (q *RedisQueue) Push(ctx context.Context, id string) error {
	return q.c.RPush(ctx, q.key, id).Err()
}

// Pop moves the oldest id to the processing list and leases it, waiting
// in short rounds so that ctx is honoured promptly. An id that is already
// leased (queued twice) is dropped from the processing list and skipped.
func (q *RedisQueue) Pop(ctx context.Context) (string, error) {
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		id, err := q.c.BLMove(ctx, q.key, q.processing, "LEFT", "RIGHT", time.Second).Result()
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
		token := q.owner + "/" + id
		ok, err := q.c.SetNX(context.WithoutCancel(ctx), q.leasePfx+id, token, q.ttl).Result()
		if err != nil {
			return "", fmt.Errorf("redis queue: lease %s: %w", id, err)
		}
		if !ok {
			q.c.LRem(context.WithoutCancel(ctx), q.processing, 1, id)
			continue
		}
		q.mu.Lock()
		q.held[id] = token
		q.mu.Unlock()
		return id, nil
	}
}

// ackScript drops one processing entry of the id and the lease if it is
// still the caller's.
var ackScript = redis.NewScript(`
redis.call('lrem', KEYS[1], 1, ARGV[1])
if redis.call('get', KEYS[2]) == ARGV[2] then redis.call('del', KEYS[2]) end
return 1`)

// Ack ends this controller's hold on id. An id whose lease was lost is
// left alone: another controller holds it now.
func (q *RedisQueue) Ack(ctx context.Context, id string) error {
	q.mu.Lock()
	token, ok := q.held[id]
	delete(q.held, id)
	q.mu.Unlock()
	if !ok {
		return nil
	}
	return ackScript.Run(context.WithoutCancel(ctx), q.c, []string{q.processing, q.leasePfx + id}, id, token).Err()
}

// renewScript extends a lease that is still the caller's.
var renewScript = redis.NewScript(`
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0`)

// heartbeat renews the held leases every TTL/3; a lease found taken is
// reported lost.
func (q *RedisQueue) heartbeat() {
	ticking(q.stop, q.ttl/3, func() {
		q.mu.Lock()
		held := make(map[string]string, len(q.held))
		for id, tok := range q.held {
			held[id] = tok
		}
		q.mu.Unlock()
		for id, tok := range held {
			ctx, cancel := context.WithTimeout(context.Background(), q.ttl/3)
			n, err := renewScript.Run(ctx, q.c, []string{q.leasePfx + id}, tok, q.ttl.Milliseconds()).Int()
			cancel()
			if err != nil || n == 1 {
				continue // a Redis hiccup: try again next round
			}
			q.mu.Lock()
			lost := q.held[id] == tok
			if lost {
				delete(q.held, id)
			}
			fn := q.onLost
			q.mu.Unlock()
			if lost && fn != nil {
				fn(id)
			}
		}
	})
}

// Expired lists the ids in the processing list that have had no lease for
// longer than the TTL: their controller died.
func (q *RedisQueue) Expired(ctx context.Context) ([]string, error) {
	ids, err := q.c.LRange(ctx, q.processing, 0, -1).Result()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		n, err := q.c.Exists(ctx, q.leasePfx+id).Result()
		if err != nil {
			return nil, err
		}
		q.mu.Lock()
		if n == 1 {
			delete(q.noLse, id)
		} else if first, ok := q.noLse[id]; !ok {
			q.noLse[id] = now
		} else if now.Sub(first) > q.ttl {
			out = append(out, id)
		}
		q.mu.Unlock()
	}
	q.mu.Lock()
	for id := range q.noLse {
		if !seen[id] {
			delete(q.noLse, id)
		}
	}
	q.mu.Unlock()
	return out, nil
}

// requeueScript moves an unleased id from the processing list back to the
// queue; 0 when another reaper (or a live worker) got there first.
var requeueScript = redis.NewScript(`
if redis.call('exists', KEYS[3]) == 1 then return 0 end
if redis.call('lrem', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('rpush', KEYS[2], ARGV[1])
return 1`)

// Requeue puts an expired id back in the queue.
func (q *RedisQueue) Requeue(ctx context.Context, id string) (bool, error) {
	n, err := requeueScript.Run(ctx, q.c, []string{q.processing, q.key, q.leasePfx + id}, id).Int()
	q.mu.Lock()
	delete(q.noLse, id)
	q.mu.Unlock()
	return n == 1, err
}

// Queued lists the waiting ids and those a worker holds (LRANGE of both
// lists): Recover re-queues a pending build in neither.
func (q *RedisQueue) Queued(ctx context.Context) ([]string, error) {
	waiting, err := q.c.LRange(ctx, q.key, 0, -1).Result()
	if err != nil {
		return nil, err
	}
	taken, err := q.c.LRange(ctx, q.processing, 0, -1).Result()
	return append(waiting, taken...), err
}

// Close stops the heartbeat and closes the client.
func (q *RedisQueue) Close() error {
	q.once.Do(func() { close(q.stop) })
	return q.c.Close()
}
