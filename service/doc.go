// Package service is the build service behind `wrenn serve`: the
// wrenn.build.v1 API, the persistent queue, workers, cancel and live logs —
// the seed's BuildService made durable and cached.
//
// Records (records.go) has two backends: the embedded Badger Store, for one
// controller, with the BadgerQueue in the same database; and RedisStore with
// the leased RedisQueue, for several controllers that take over each
// other's builds. Both keep indexes so that a ListBuilds page and restart
// recovery read O(page) and O(pending+running) records, delete a build's
// archive when it ends, and prune finished builds past the retention.
// The hub (hub.go) fans a running build's events out to watchers and keeps
// a bounded history for late ones. The executor plugs in through Runner
// (package execrunner).
//
// Imports: compiler, lang, proto (never executor: execrunner does).
package service
