package service

import (
	"context"
	"errors"
	"time"
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

// LeasedQueue is a queue shared by several controllers. A popped id is
// leased to this controller until Ack; a controller that dies loses its
// leases, and any live controller's reaper puts their ids back (Expired,
// then Requeue after resetting the record to pending).
type LeasedQueue interface {
	Queue
	// Ack ends the hold on a popped id (the build finished, was skipped,
	// or was pushed again).
	Ack(ctx context.Context, id string) error
	Expired(ctx context.Context) ([]string, error)
	Requeue(ctx context.Context, id string) (bool, error)
	LeaseTTL() time.Duration
	// OnLeaseLost is called when this controller's lease on a running
	// build was taken back: the build must stop without writing a result.
	OnLeaseLost(func(id string))
}
