// Package agent is the host agent: the hostagent.v1 and wrenn.agent.v1
// connect handlers, and the local backend (overlayfs layers + runc
// containers) that `wrenn agent serve` and the embedded default run.
//
// Imports: proto only (never lang, compiler, cache, executor or service).
//
// Invariants: paths from requests never resolve outside a sandbox's rootfs;
// Destroy is idempotent and leaves no mount, process or cgroup behind.
package agent
