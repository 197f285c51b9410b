package cache

import (
	"context"
	"os"

	"github.com/dgraph-io/badger/v4"
)

// PruneStatCache drops file-hash entries that can no longer hit: the file
// is gone, or its size or mtime changed since (a newer entry, if any,
// describes it now). Each changed file version adds an entry, so without
// this the stat cache only grows. It returns how many were dropped.
func (s *BadgerStore) PruneStatCache(ctx context.Context) (int, error) {
	var stale [][]byte
	err := s.view(ctx, func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.PrefetchValues = false
		o.Prefix = []byte(prefixStatV1)
		it := txn.NewIterator(o)
		for it.Rewind(); it.Valid(); it.Next() {
			stale = append(stale, it.Item().KeyCopy(nil)) // old key format: never read
		}
		it.Close()
		o.Prefix = []byte(prefixStat)
		it = txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			sk, err := decodeStatKey(k)
			if err != nil {
				stale = append(stale, k) // unreadable: useless
				continue
			}
			st, err := os.Lstat(sk.Path)
			if err != nil || st.Size() != sk.Size || st.ModTime().UnixNano() != sk.MTime {
				stale = append(stale, k)
			}
		}
		return nil
	})
	if err != nil || len(stale) == 0 {
		return 0, err
	}
	for start := 0; start < len(stale); start += 1000 {
		batch := stale[start:min(start+1000, len(stale))]
		if err := s.update(ctx, func(txn *badger.Txn) error {
			for _, k := range batch {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return 0, err
		}
	}
	return len(stale), nil
}
