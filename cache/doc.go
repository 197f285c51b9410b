// Package cache is the Badger v4 layer store: records (layer key -> snapshot
// reference, parent, step text, preimage, size, times, hits), refs (template
// name -> final key), the file-hash (stat) cache, prune, verify,
// export/import and explain.
//
// Imports: compiler and lang. It never talks to an agent directly: callers
// pass a small interface for the agent side.
//
// Invariants: a key is recorded only after its snapshot is durable; every
// value carries a format version; a crash leaves a store that opens.
package cache
