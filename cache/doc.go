// Package cache is the Badger v4 layer store: records (layer key -> agent
// snapshot, parents, step text and source, key preimage, size, times,
// hits), refs (template name -> final key and the keys of its build),
// bases (a base template's identity and starting env per agent), leases
// that running builds hold, the compiler's file-hash (stat) cache, and the
// operations on them: List, DiskUsage, Explain, Verify, Prune, Export and
// Import.
//
// Imports: compiler and lang. It never talks to an agent directly: Verify,
// Prune, Export and Import take an AgentLayers, which the CLI adapts from
// the connect client.
//
// How the executor uses it:
//
//	s, err := cache.Open(dir, cache.Options{LockWait: ...})
//	recs, _ := s.Lookup(ctx, cache.LayerKeys(plan))      // what is cached
//	s.Hold(ctx, cache.NewLease(buildID, ttl, keys, layers)) // prune leaves them
//	info := CommitLayer(...)                               // durable on the agent
//	s.Put(ctx, cache.NewRecord(plan, step, snap, info.Digest, info.Size, name))
//	s.Touch(ctx, reusedKeys, time.Now())
//	s.PutRef(ctx, cache.NewRef(plan, name, templateID)); s.Release(ctx, buildID)
//
// Invariants:
//   - A key is recorded only after its snapshot is durable on the agent
//     (Put comes after CommitLayer returns), so a crash at any point leaves
//     at worst a snapshot no record points to. Prune removes a record before
//     its snapshot for the same reason. Verify and Prune collect orphans.
//   - Every stored value starts with a format version byte; a newer format
//     is refused with a message, never misread.
//   - Key prefixes (keys.go) separate the kinds of value; preimages are
//     stored apart from records so listing 100,000 records never reads them.
//   - A kill -9 at any point leaves a store that opens (tested with real
//     processes). Writes are not fsynced one by one: losing the last writes
//     to a power cut loses records, which is safe (their snapshots become
//     orphans), never the reverse.
//
// One process at a time: Badger takes an exclusive flock on the directory.
// Its read-only mode takes a shared flock, which still conflicts with a
// writer, so it would not let `wrenn cache ls` run during a build. Instead
// Open reports a *LockedError naming the directory and the holder's pid and
// command line (Options.LockWait waits for it), and OpenSnapshot gives the
// inspection commands a private read-only copy taken at that moment.
package cache
