package service

import (
	"context"
	"time"
)

// DefaultRetention is how long `wrenn serve` keeps a finished build's
// record and log unless told otherwise (--retention).
const DefaultRetention = 7 * 24 * time.Hour

// pruneEvery is how often the pruner runs for a retention: a tenth of it,
// between a minute and an hour.
func pruneEvery(retention, every time.Duration) time.Duration {
	if every > 0 {
		return every
	}
	return min(max(retention/10, time.Minute), time.Hour)
}

// pruner deletes finished builds older than the retention until ctx ends:
// once at start, then every PruneEvery. Pending and running builds are
// never pruned (only finished ones are in the prune index).
func (s *Service) pruner(ctx context.Context) {
	s.PruneOnce(ctx)
	ticking(ctx.Done(), pruneEvery(s.cfg.Retention, s.cfg.PruneEvery), func() { s.PruneOnce(ctx) })
}

// PruneOnce deletes the finished builds completed more than Retention ago
// and returns how many it deleted.
func (s *Service) PruneOnce(ctx context.Context) int {
	if s.cfg.Retention <= 0 {
		return 0
	}
	n, err := s.cfg.Store.Prune(ctx, time.Now().Add(-s.cfg.Retention))
	if err != nil && ctx.Err() == nil {
		s.cfg.Logf("prune: %v", err)
	}
	if n > 0 {
		s.cfg.Logf("pruned %d builds finished more than %v ago", n, s.cfg.Retention)
	}
	return n
}
