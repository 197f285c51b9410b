package cache

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// validateRecord rejects records that would corrupt the indexes: keys with
// the separator byte, a missing snapshot reference.
func validateRecord(r *Record) error {
	if r.Key == "" {
		return errors.New("record has no key")
	}
	if strings.ContainsRune(r.Key, 0) {
		return fmt.Errorf("record key %q contains a NUL byte", r.Key)
	}
	if r.Snapshot.ID == "" {
		return fmt.Errorf("record %s has no snapshot id: record a key only after its snapshot is committed", r.Key)
	}
	switch r.Snapshot.Kind {
	case KindLayer, KindSnapshot:
	case "":
		r.Snapshot.Kind = KindLayer
	default:
		return fmt.Errorf("record %s: unknown snapshot kind %q", r.Key, r.Snapshot.Kind)
	}
	for _, p := range r.Parents {
		if p == "" || strings.ContainsRune(p, 0) || p == r.Key {
			return fmt.Errorf("record %s: bad parent key %q", r.Key, p)
		}
	}
	return nil
}

// fillTimes defaults Created and LastUsed to now and keeps them in UTC so
// that both stores compare equal in tests and JSON.
func fillTimes(r *Record, now time.Time) {
	now = now.UTC()
	if r.Created.IsZero() {
		r.Created = now
	}
	if r.LastUsed.IsZero() {
		r.LastUsed = r.Created
	}
	r.Created = r.Created.UTC()
	r.LastUsed = r.LastUsed.UTC()
}
