package agenttest

import (
	"os"
	"testing"
)

// shortTempDir is a temporary directory under /tmp, short enough for a unix
// socket path, removed when the test ends.
func shortTempDir(t testing.TB) (string, error) {
	dir, err := os.MkdirTemp("/tmp", "wrenn-at-")
	if err != nil {
		return "", err
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir, nil
}
