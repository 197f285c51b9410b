// Package local is the host agent's local backend: sandboxes are overlayfs
// mounts over a chain of layer directories; their processes run in OCI
// containers over the mount (runc, or crun: Options.Runtime): a one-shot
// container per Exec, and one long-lived container per sandbox once a
// START needs a process to live on.
//
// Layout under Root (see layout.go):
//
//	lock                  flock held while a Backend uses Root
//	agent-id              the agent identity (agent.LoadOrCreateID)
//	templates/<id>/       meta.json + rootfs/ (an imported or bootstrapped
//	                      base's full tree, or a snapshot's or flattened
//	                      base's own diff on top of its parent chain)
//	                      + unsynced, as a layer's, for snapshot and flatten
//	layers/<id>/          meta.json + diff/ (an overlay upper directory)
//	                      + unsynced (holding the boot id) while its files
//	                      may not be on disk
//	l/<short>             short symlinks to every rootfs/ and diff/, so a
//	                      100-layer lowerdir fits in one page (as overlay2)
//	sandboxes/<key>/      upper/ work/ merged/ bundle/ of a live sandbox
//	runc/ or crun/        the runtime's --root: only this backend's
//	                      containers (New removes the other runtime's)
//	tmp/                  half-written layers and templates; renamed into
//	                      place when complete, removed on start
//
// Sandbox cgroups live under wrenn-<first 8 hex digits of sha256(Root)>/
// in every hierarchy (v1 or v2), so cleanup finds this root's only.
//
// Invariants: a layer or template directory is visible only once complete
// (written under tmp/, then renamed: bases with their metadata fsynced,
// layers, snapshots and flattened templates with an unsynced marker that
// the background syncer clears after a syncfs); a crash leaves at most
// garbage in tmp/ and sandboxes/, which New removes together with stale
// mounts, runc containers and cgroups, and whatever is still marked
// unsynced by another boot (with what sits on it: see durable.go). A
// marker of this boot means only the process ended: the files are whole in
// the page cache, and New syncs them. No build step waits for the disk:
// the syncer waits for commits to pause, and Close hands what is pending
// to a detached `sync -f` that outlives the process. Paths from callers are
// resolved inside a sandbox's rootfs with openat2 RESOLVE_IN_ROOT
// (pathrs-lite), so symlinks and ".." never reach the host.
//
// Processes: creating a sandbox starts no process (a mount, a few ms).
// While no START has run, each Exec is the only job of a fresh container
// on the sandbox's rootfs, a foreground `runc run` (exec_once.go): its init
// is the host's static busybox sh (bind-mounted at /dev/.wrenn/busybox, so
// nothing is added to the rootfs), which runs the command as its child and
// exits with its status. When the command ends the kernel ends its whole
// pid namespace, so a RUN's background processes end with it (as in a
// Dockerfile RUN), and runc removes the container: nothing is left to
// stop. A START (the executor's `nohup … &` form, see isStartCommand)
// starts the sandbox's long-lived container, whose init is a reaper loop,
// and from then on each Exec is a `runc exec` in it, so the START's process
// outlives the exec. A timeout, cancel or destroy kills the command and its
// descendants (in the long-lived container: its session and descendants;
// a process that escapes with setsid and double fork survives until the
// container ends) and returns exit code 124 with a note on stderr.
// Stopping the long-lived container is a SIGKILL of its init through a
// pidfd, a wait for the exit and a plain `runc delete` (runc's own
// `delete --force` polls for ~100 ms). A container's init is reparented to
// the host's init when runc exits, so reaping it is that init's job.
//
// Runtimes (runtime.go): runc is the default and the reference; crun is a
// drop-in that takes a third to a half of runc's time per container (see
// docs/benchmarks.md). New runs `RUNTIME --version` once and takes only
// runc or crun. What differs, and is handled: crun's error messages (both
// log JSON lines {"level","msg"}; crun says "executable file `x` not
// found"), its state directory (<--root>/<id>/ for both, which is how a
// missing container is told), and the session of an exec'd process (runc
// makes the process its leader, crun leaves a session whose leader has
// exited: a kill takes the process's session either way). A failed `crun
// exec` leaves a zombie in the container's pid namespace for the host's
// init to reap, and the container's init cannot finish exiting before
// that (1–2 s here), so a command that cannot run is answered (127, 126)
// before any runtime runs, in both modes and under both. crun refuses a
// hybrid cgroup host (v1 hierarchies plus v2 at /sys/fs/cgroup/unified)
// whose v2 hierarchy holds any controller; there each `crun run` runs in a
// private mount namespace without that mount (runtimeRunCmd), so crun
// sees a v1 host and sets the limits in the v1 hierarchies, as runc does.
//
// What this backend cannot do: it keeps no memory state. CommitLayer
// remounts the overlay: with no START it runs no runc at all (unmount,
// rename, digest, mount); after a START it stops the long-lived container
// first, so background processes end at a commit (commits happen between
// build steps), and the next Exec is one-shot again. A snapshot records the
// START commands and runs them again in every sandbox created from it.
// DiskSizeMB is not enforced (overlay on a plain filesystem has no quota).
//
// A deferred commit (CommitLayerDeferred, deferred.go) answers after the
// mount and hashes the layer's diff in the background; the published
// layer's meta.json has no digest until then, and every report of the
// layer waits for its job (or, after a crash, hashes the diff itself).
// Close waits for the jobs.
//
// Imports: agent (the contract) and golang.org/x/sys, pathrs-lite.
package local
