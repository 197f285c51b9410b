// Package service is the build service behind `wrenn serve`: the
// wrenn.build.v1 API, the persistent queue, workers, cancel and live logs —
// the seed's BuildService made durable and cached.
//
// Imports: executor, cache, compiler, lang, proto.
package service
