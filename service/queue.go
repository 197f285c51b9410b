package service

import (
	"context"
	"errors"
)

// Queue hands build ids from Create to the workers. Push is durable when
// it returns; Pop blocks until an id is available or ctx ends. Queued lists
// what is waiting, so that start-up recovery can re-queue a pending build
// that a crash took out of the queue but never started.
type Queue interface {
	Push(ctx context.Context, id string) error
	Pop(ctx context.Context) (string, error)
	Queued(ctx context.Context) ([]string, error)
	Close() error
}

// errQueueClosed is returned by Pop after Close.
var errQueueClosed = errors.New("queue closed")
