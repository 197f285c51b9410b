package executor

import "sync"

// keyLocks makes two builds in one process that reach the same layer key
// run its step once: the second waits for the first, then finds the
// record and continues from the committed layer. A build holds at most one
// key lock at a time, so builds cannot deadlock on them.
var keyLocks = struct {
	mu sync.Mutex
	m  map[string]*keyLock
}{m: map[string]*keyLock{}}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func lockKey(k string) (unlock func()) {
	keyLocks.mu.Lock()
	l := keyLocks.m[k]
	if l == nil {
		l = &keyLock{}
		keyLocks.m[k] = l
	}
	l.refs++
	keyLocks.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		keyLocks.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(keyLocks.m, k)
		}
		keyLocks.mu.Unlock()
	}
}
