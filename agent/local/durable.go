package local

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// unsyncedMarker, in a layer's or template's directory, says that its
// files may not be on disk yet. A commit, snapshot or flatten does not
// wait for its files to reach the disk (writing back a 50 MB COPY takes
// longer than the rest of a build step): the directory is published with
// the marker, which holds the kernel's boot id, and the syncer removes the
// marker once a syncfs has covered it.
//
// When New finds a marker, the boot id tells what happened. The same boot:
// the process ended (a crash, a kill, or a Close that left the sync to a
// detached process) but the kernel still holds every written page, so the
// files are whole; New keeps the directory and syncs it. Another boot (or
// no id): the machine went down and pages may be lost; New removes the
// directory and whatever sits on it, so whatever survives a crash is whole.
// Bases (bootstrapped or imported) sync before they are published.
const unsyncedMarker = "unsynced"

// bootID is this boot's /proc/sys/kernel/random/boot_id ("" if unknown:
// then every marker counts as another boot's).
func bootID() string {
	data, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// writeMarker marks dir as not yet on disk, for this boot.
func (b *Backend) writeMarker(dir string) error {
	return os.WriteFile(filepath.Join(dir, unsyncedMarker), []byte(b.bootID+"\n"), 0o600)
}

// markedBy reports whether dir has a marker and whether this boot wrote it.
func (b *Backend) markedBy(dir string) (marked, thisBoot bool) {
	data, err := os.ReadFile(filepath.Join(dir, unsyncedMarker))
	if err != nil {
		return !os.IsNotExist(err), false
	}
	return true, b.bootID != "" && strings.TrimSpace(string(data)) == b.bootID
}

// Syncer timing: a round starts once commits have paused for syncQuiet,
// or syncMaxDelay after the first waiting one, so a build's steps do not
// compete with the writeback of the layers before them.
const (
	syncQuiet    = 500 * time.Millisecond
	syncMaxDelay = 5 * time.Second
)

// closeSyncDelay is how long after a Close its detached sync starts. A
// syncfs right away would make the writeback of a build's files (50 MB
// for the build benchmark's COPY) meet the next build of an edit-build
// loop, whose own few fsyncs (the cache's) would then wait for all of it:
// a 30 ms cached rebuild took 60-135 ms. The kernel's own writeback starts
// after 30 s (vm.dirty_expire_centisecs); this only bounds how long a
// marker can outlive its process.
const closeSyncDelay = 2 * time.Second

// syncer writes committed layers and templates back to disk in the
// background.
type syncer struct {
	root string
	kick chan struct{} // buffered 1: a round is wanted
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	pending []string // directories whose marker a sync will clear
}

func newSyncer(root string) *syncer {
	s := &syncer{root: root, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

// add asks for dir's marker to be cleared after a coming syncfs.
func (s *syncer) add(dir string) {
	s.mu.Lock()
	s.pending = append(s.pending, dir)
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *syncer) loop() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var first time.Time // when the oldest waiting kick came; zero: none
	for {
		select {
		case <-s.kick:
			now := time.Now()
			if first.IsZero() {
				first = now
			}
			wait := min(syncQuiet, first.Add(syncMaxDelay).Sub(now))
			timer.Reset(max(wait, 0))
		case <-timer.C:
			first = time.Time{}
			s.round()
		case <-s.stop:
			timer.Stop()
			return
		}
	}
}

// take empties the pending list.
func (s *syncer) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	batch := s.pending
	s.pending = nil
	return batch
}

// flush syncs the filesystem and clears the markers of batch; on failure
// batch goes back to the pending list, to be tried again. The removals need
// no sync of their own: a marker a crash brings back from another boot
// only costs that directory.
func (s *syncer) flush(batch []string) error {
	if err := syncFS(s.root); err != nil {
		s.mu.Lock()
		s.pending = append(batch, s.pending...)
		s.mu.Unlock()
		return err
	}
	for _, dir := range batch {
		_ = os.Remove(filepath.Join(dir, unsyncedMarker))
	}
	return nil
}

// round is the background loop's flush of what was pending when it
// started.
func (s *syncer) round() {
	if batch := s.take(); len(batch) > 0 {
		_ = s.flush(batch)
	}
}

// now syncs at once, clearing every pending marker (for a base, which must
// not sit on a layer that a crash could take away).
func (s *syncer) now() error {
	return s.flush(s.take())
}

// halt stops the background loop and returns what was still pending, as a
// crash would leave it.
func (s *syncer) halt() []string {
	select {
	case <-s.done:
	default:
		close(s.stop)
		<-s.done
	}
	return s.take()
}

// close stops the syncer without waiting for the disk: the pending
// directories are synced and unmarked by a detached `sync -f` that
// outlives this process, closeSyncDelay later, so `wrenn build` returns as
// soon as its result is recorded. Should that not happen, the markers are
// of this boot and the next New syncs them; should the machine go down
// first, the next boot drops them. If the helper cannot start, close
// syncs itself.
func (s *syncer) close() {
	batch := s.halt()
	if len(batch) == 0 {
		return
	}
	args := []string{"-c", `sleep ` + strconv.FormatFloat(closeSyncDelay.Seconds(), 'f', -1, 64) + `; sync -f "$0" && exec rm -f -- "$@"`, s.root}
	for _, dir := range batch {
		args = append(args, filepath.Join(dir, unsyncedMarker))
	}
	cmd := exec.Command("/bin/sh", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		_ = s.flush(batch)
		return
	}
	go cmd.Wait() // reaped if this process lives on; else init adopts it
}

// syncFS flushes the filesystem that holds dir.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// dropUnsynced removes, after a crash, the layers and templates whose files
// may not have reached the disk (marked in another boot), then every layer
// and template left without what it sits on; the ones marked in this boot
// go to the syncer. Nothing uses the store yet.
func (b *Backend) dropUnsynced() {
	for {
		layers, err := b.allLayers()
		if err != nil {
			return
		}
		templates, err := b.allTemplates()
		if err != nil {
			return
		}
		haveLayer := map[string]bool{}
		for _, l := range layers {
			haveLayer[l.ID] = true
		}
		haveTemplate := map[string]bool{}
		for _, t := range templates {
			haveTemplate[t.ID] = true
		}
		removed := false
		var adopt []string // marked in this boot and kept
		for _, l := range layers {
			marked, thisBoot := b.markedBy(b.layerDir(l.ID))
			broken := l.Parent != "" && !haveLayer[l.Parent] || l.Parent == "" && l.Template != "" && !haveTemplate[l.Template]
			if marked && thisBoot && !broken {
				adopt = append(adopt, b.layerDir(l.ID))
			}
			if marked && !thisBoot || broken {
				b.log.Warn("removing a layer a crash may have left incomplete", "layer", l.ID)
				_ = os.Remove(filepath.Join(b.linksDir(), l.Link))
				_ = b.removeTree(b.layerDir(l.ID))
				removed = true
			}
		}
		for _, t := range templates {
			marked, thisBoot := b.markedBy(b.templateDir(t.ID))
			broken := t.ParentLayer != "" && !haveLayer[t.ParentLayer] || t.ParentTemplate != "" && !haveTemplate[t.ParentTemplate]
			if marked && thisBoot && !broken {
				adopt = append(adopt, b.templateDir(t.ID))
			}
			if marked && !thisBoot || broken {
				b.log.Warn("removing a template whose chain a crash took", "template", t.ID)
				_ = os.Remove(filepath.Join(b.linksDir(), t.Link))
				_ = b.removeTree(b.templateDir(t.ID))
				removed = true
			}
		}
		if !removed {
			// what is left marked was written in this boot: whole in
			// the page cache, to be synced
			for _, dir := range adopt {
				b.sync.add(dir)
			}
			return
		}
	}
}
