package cache_test

import (
	"testing"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/cache/cachetest"
)

func TestMemStoreConformance(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Store { return cache.NewMemStore() })
}

func TestBadgerStoreConformance(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Store {
		s, err := cache.Open(t.TempDir(), cache.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
