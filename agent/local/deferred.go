package local

import (
	"context"
	"path/filepath"
	"sync"

	"wrenn.dev/wrenn/agent"
)

// A deferred commit (CommitLayerDeferred) publishes the layer with an
// empty digest and hashes its diff in the background: the diff of a
// published layer never changes, so the caller's next step runs while the
// digest is computed. Everything that reports a layer's digest or size
// goes through withDigest, which waits for the job, or computes the
// digest itself for a layer whose job a crash cut short (its meta.json
// has no digest and no job is running).
type digestJobs struct {
	mu sync.Mutex
	m  map[string]*digestJob // by layer id
	wg sync.WaitGroup
}

type digestJob struct {
	done chan struct{}
	st   treeStats
	err  error
}

// CommitLayerDeferred is CommitLayer answering before the layer's digest
// and size are known (agent.DeferredCommitter).
func (b *Backend) CommitLayerDeferred(ctx context.Context, id string) (agent.LayerInfo, error) {
	return b.commitLayer(ctx, id, true)
}

// startDigest registers the digest job of layer m before it is published,
// so a reader never finds the layer without either a digest or a job.
func (b *Backend) startDigest(m *layerMeta) *digestJob {
	j := &digestJob{done: make(chan struct{})}
	b.digests.mu.Lock()
	if b.digests.m == nil {
		b.digests.m = map[string]*digestJob{}
	}
	b.digests.m[m.ID] = j
	b.digests.mu.Unlock()
	b.digests.wg.Add(1)
	return j
}

// runDigest hashes the published layer m, writes its meta.json again with
// the digest and size, and ends job j.
func (b *Backend) runDigest(m layerMeta, j *digestJob) {
	st, err := digestTree(filepath.Join(b.layerDir(m.ID), "diff"))
	if err == nil {
		m.Digest, m.Size = st.Digest, st.Size
		err = writeJSON(filepath.Join(b.layerDir(m.ID), "meta.json"), &m)
	}
	b.endDigest(m.ID, j, st, err)
}

// dropDigest ends job j of a layer that was not published after all.
func (b *Backend) dropDigest(id string, j *digestJob) {
	b.endDigest(id, j, treeStats{}, errNotFound)
}

// endDigest ends job j of layer id with its outcome.
func (b *Backend) endDigest(id string, j *digestJob, st treeStats, err error) {
	j.st, j.err = st, err
	b.digests.mu.Lock()
	delete(b.digests.m, id)
	b.digests.mu.Unlock()
	close(j.done)
	b.digests.wg.Done()
}

// withDigest fills m's digest and size when a deferred commit left them
// out: from its job, once done, or, when no job runs (the process that
// committed it ended first), by hashing the diff now.
func (b *Backend) withDigest(m *layerMeta) error {
	if m.Digest != "" {
		return nil
	}
	b.digests.mu.Lock()
	j := b.digests.m[m.ID]
	b.digests.mu.Unlock()
	if j != nil {
		<-j.done
		if j.err != nil {
			return j.err
		}
		m.Digest, m.Size = j.st.Digest, j.st.Size
		return nil
	}
	// the job may have ended between reading meta.json and now
	if fresh, err := b.readLayer(m.ID); err == nil && fresh.Digest != "" {
		m.Digest, m.Size = fresh.Digest, fresh.Size
		return nil
	}
	st, err := digestTree(filepath.Join(b.layerDir(m.ID), "diff"))
	if err != nil {
		return err
	}
	m.Digest, m.Size = st.Digest, st.Size
	return writeJSON(filepath.Join(b.layerDir(m.ID), "meta.json"), m)
}

// readLayerDigested is readLayer with the digest and size filled in.
func (b *Backend) readLayerDigested(id string) (*layerMeta, error) {
	m, err := b.readLayer(id)
	if err != nil {
		return nil, err
	}
	if err := b.withDigest(m); err != nil {
		return nil, err
	}
	return m, nil
}
