package cache

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockedError says that another process has the cache directory open.
// Badger allows one writer per directory (an flock on the directory); its
// pid is in the LOCK file Badger writes next to the data.
type LockedError struct {
	Dir     string
	PID     int    // 0 when unknown
	Command string // the holder's command line, when readable
}

func (e *LockedError) Error() string {
	var who string
	switch {
	case e.PID > 0 && e.Command != "":
		who = fmt.Sprintf("process %d (%s)", e.PID, e.Command)
	case e.PID > 0:
		who = fmt.Sprintf("process %d", e.PID)
	default:
		who = "another process"
	}
	return fmt.Sprintf("cache directory %s is in use by %s: wait for it to finish, retry with --lock-wait, or use another --cache-dir", e.Dir, who)
}

// isLockError recognises Badger's "Cannot acquire directory lock" failure,
// which wraps the flock's EWOULDBLOCK.
func isLockError(err error) bool {
	return errors.Is(err, syscall.EWOULDBLOCK) || strings.Contains(err.Error(), "Cannot acquire directory lock")
}

// lockHolder reads the pid Badger wrote into dir/LOCK and the command line
// of that process.
func lockHolder(dir string) *LockedError {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	le := &LockedError{Dir: abs}
	b, err := os.ReadFile(filepath.Join(dir, "LOCK"))
	if err != nil {
		return le
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return le
	}
	le.PID = pid
	if cmd, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline")); err == nil {
		c := strings.TrimSpace(string(bytes.ReplaceAll(bytes.TrimRight(cmd, "\x00"), []byte{0}, []byte{' '})))
		if len(c) > 120 {
			c = c[:117] + "..."
		}
		le.Command = c
	}
	return le
}
