package cache

import (
	"os"
	"path/filepath"
)

// DefaultDir is the cache directory used when --cache-dir is not given:
// $XDG_CACHE_HOME/wrenn, else ~/.cache/wrenn (the XDG base directory
// default), else wrenn under the system temp directory as a last resort.
func DefaultDir() string {
	if x := os.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "wrenn")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".cache", "wrenn")
	}
	return filepath.Join(os.TempDir(), "wrenn-cache")
}
