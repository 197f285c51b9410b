package cache

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// hostname is computed once: leases from other hosts (a cache directory on
// shared storage) cannot be checked by pid and live until they expire.
var hostname, _ = os.Hostname()

// leaseLive reports whether l still holds its keys at now.
func leaseLive(l *Lease, now time.Time) bool {
	if !l.Expires.IsZero() && !now.Before(l.Expires) {
		return false
	}
	if l.PID > 0 && (l.Host == "" || l.Host == hostname) {
		return processAlive(l.PID)
	}
	return true
}

// processAlive asks the kernel: signal 0 checks existence and permission
// without delivering anything. EPERM means it exists under another user.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// NewLease returns a lease for the current process, valid for ttl, holding
// keys and agent layers.
func NewLease(id string, ttl time.Duration, keys, layers []string) Lease {
	now := time.Now().UTC()
	return Lease{ID: id, PID: os.Getpid(), Host: hostname, Keys: keys, Layers: layers, Created: now, Expires: now.Add(ttl)}
}
