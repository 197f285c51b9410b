// Package local is the host agent's local backend: sandboxes are overlayfs
// mounts over a chain of layer directories, and their processes run in one
// long-lived runc container per sandbox.
//
// Layout under Root (see layout.go):
//
//	lock                  flock held while a Backend uses Root
//	agent-id              the agent identity (agent.LoadOrCreateID)
//	templates/<id>/       meta.json + rootfs/ (a base's full tree, or a
//	                      snapshot's own diff on top of its parent chain)
//	layers/<id>/          meta.json + diff/ (an overlay upper directory)
//	l/<short>             short symlinks to every rootfs/ and diff/, so a
//	                      100-layer lowerdir fits in one page (as overlay2)
//	sandboxes/<key>/      upper/ work/ merged/ bundle/ of a live sandbox
//	runc/                 runc --root: only this backend's containers
//	tmp/                  half-written layers and templates; renamed into
//	                      place when complete, removed on start
//
// Sandbox cgroups live under wrenn-<first 8 hex digits of sha256(Root)>/
// in every hierarchy (v1 or v2), so cleanup finds this root's only.
//
// Invariants: a layer or template directory is visible only once complete
// (written under tmp/, metadata fsynced, then renamed); a crash leaves at
// most garbage in tmp/ and sandboxes/, which New removes together with
// stale mounts, runc containers and cgroups. Paths from callers are
// resolved inside a sandbox's rootfs with openat2 RESOLVE_IN_ROOT
// (pathrs-lite), so symlinks and ".." never reach the host.
//
// Processes: a sandbox's container runs a reaper (the host's static busybox,
// bind-mounted at /dev/.wrenn/busybox, so that bases without sleep work and
// nothing is added to the rootfs); each Exec is a `runc exec` in it, so
// background processes outlive the exec that started them. A timeout kills
// the exec's whole session and its descendants (a process that escapes with
// setsid and double fork survives until the sandbox ends) and returns exit
// code 124 with a note on stderr. A container's init is reparented to the
// host's init when runc exits, so reaping it after a destroy is that
// init's job.
//
// What this backend cannot do: it keeps no memory state. CommitLayer
// remounts the overlay, which restarts the sandbox's container, so background
// processes end at a commit (commits happen between build steps). A snapshot
// records the START commands (the Exec command lines that ran nohup) and
// runs them again in every sandbox created from it. DiskSizeMB is not
// enforced (overlay on a plain filesystem has no quota).
//
// Imports: agent (the contract) and golang.org/x/sys, pathrs-lite.
package local
