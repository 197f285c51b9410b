package local

import (
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// unsyncedMarker, in a layer's directory, says that the layer's files may
// not be on disk yet. A commit does not wait for its files to reach the
// disk (writing back a 50 MB COPY takes longer than the rest of the
// commit): the layer is published with the marker, and the syncer removes
// the marker once a syncfs has covered it. After a crash, New removes every
// layer that still has one, and whatever sits on it, so a layer that
// survives a crash is whole. Snapshots and flattened templates (once per
// build) sync before they are published.
const unsyncedMarker = "unsynced"

// syncer writes committed layers back to disk in the background.
type syncer struct {
	root string
	kick chan struct{} // buffered 1: a round is wanted
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	pending []string // layer directories whose marker a sync will clear
}

func newSyncer(root string) *syncer {
	s := &syncer{root: root, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

// add asks for layerDir's marker to be cleared after the next syncfs.
func (s *syncer) add(layerDir string) {
	s.mu.Lock()
	s.pending = append(s.pending, layerDir)
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *syncer) loop() {
	defer close(s.done)
	for {
		select {
		case <-s.kick:
			s.round()
		case <-s.stop:
			s.round()
			return
		}
	}
}

// round syncs the filesystem and clears the markers of the layers that
// were pending when it started. The removals need no sync of their own: a
// marker a crash brings back only costs that layer.
func (s *syncer) round() {
	s.mu.Lock()
	batch := s.pending
	s.pending = nil
	s.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := syncFS(s.root); err != nil {
		s.mu.Lock()
		s.pending = append(batch, s.pending...) // try again next time
		s.mu.Unlock()
		return
	}
	for _, dir := range batch {
		_ = os.Remove(filepath.Join(dir, unsyncedMarker))
	}
}

// now syncs at once, clearing every pending marker (for a template, which
// must not sit on a layer that a crash could take away).
func (s *syncer) now() error {
	s.mu.Lock()
	batch := s.pending
	s.pending = nil
	s.mu.Unlock()
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

// close runs a last round and stops the syncer.
func (s *syncer) close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.stop)
	<-s.done
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

// dropUnsynced removes, after a crash, the layers whose files may not have
// reached the disk, then every layer and template left without what it
// sits on. Nothing uses the store yet.
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
		for _, l := range layers {
			_, err := os.Stat(filepath.Join(b.layerDir(l.ID), unsyncedMarker))
			broken := l.Parent != "" && !haveLayer[l.Parent] || l.Parent == "" && l.Template != "" && !haveTemplate[l.Template]
			if err == nil || broken {
				b.log.Warn("removing a layer a crash may have left incomplete", "layer", l.ID)
				_ = os.Remove(filepath.Join(b.linksDir(), l.Link))
				_ = b.removeTree(b.layerDir(l.ID))
				removed = true
			}
		}
		for _, t := range templates {
			if t.ParentLayer != "" && !haveLayer[t.ParentLayer] || t.ParentTemplate != "" && !haveTemplate[t.ParentTemplate] {
				b.log.Warn("removing a template whose chain a crash took", "template", t.ID)
				_ = os.Remove(filepath.Join(b.linksDir(), t.Link))
				_ = b.removeTree(b.templateDir(t.ID))
				removed = true
			}
		}
		if !removed {
			return
		}
	}
}
