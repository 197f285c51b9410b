package cache

// Key prefixes separate the kinds of value in the one Badger keyspace.
// Every prefix ends in '/', which no prefix contains elsewhere, so a scan of
// one kind never sees another.
const (
	prefixRecord   = "l/" // l/<key> -> record (codec.go)
	prefixPreimage = "i/" // i/<key> -> version byte + preimage
	prefixChild    = "c/" // c/<parent>\x00<child> -> nothing (children index)
	prefixRef      = "r/" // r/<name> -> version byte + JSON Ref
	prefixLease    = "h/" // h/<id> -> version byte + JSON Lease
	prefixBase     = "b/" // b/<agent>\x00<template> -> version byte + JSON Base
	prefixStat     = "f/" // f/<path>\x00<size, mtime, inode, mode> -> version byte + digest
	prefixStatV1   = "s/" // before: path length-prefixed (no prefix scan); pruned
	prefixBucket   = "x/" // x/<bucket>/<key> -> owned by other packages (Bucket)
	keyFormat      = "meta/format"
)

func recordKey(k string) []byte   { return []byte(prefixRecord + k) }
func preimageKey(k string) []byte { return []byte(prefixPreimage + k) }
func refKey(n string) []byte      { return []byte(prefixRef + n) }
func leaseKey(id string) []byte   { return []byte(prefixLease + id) }
func childKey(parent, child string) []byte {
	return []byte(prefixChild + parent + "\x00" + child)
}

func baseKey(agent, template string) []byte { return []byte(prefixBase + agent + "\x00" + template) }
