package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/sync/errgroup"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
	pb "wrenn.dev/wrenn/proto/hostagent/v1"
	lpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
)

// runStages builds the stages, each as soon as the stages it starts from
// or copies from are done, so independent stages run in parallel; the
// target stage (last) ends in a template. The first failure cancels the
// other stages.
func (b *builder) runStages(ctx context.Context, res *Result) error {
	n := len(b.plan.Stages)
	done := make([]chan struct{}, n)
	for i := range done {
		done[i] = make(chan struct{})
	}
	g, gctx := errgroup.WithContext(ctx)
	for si, st := range b.plan.Stages {
		deps := map[int]bool{}
		if st.BaseStage >= 0 {
			deps[st.BaseStage] = true
		}
		for _, id := range st.Steps {
			if c := b.plan.Step(id).Copy; c != nil && c.FromStage >= 0 {
				deps[c.FromStage] = true
			}
		}
		g.Go(func() error {
			for d := range deps {
				select {
				case <-done[d]:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			if err := b.runStage(gctx, si, si == n-1, res); err != nil {
				return err
			}
			close(done[si])
			return nil
		})
	}
	return g.Wait()
}

// sandbox is a live build sandbox and what its changes sit on.
type sandbox struct {
	id string
}

func (b *builder) runStage(ctx context.Context, si int, target bool, res *Result) error {
	st := b.plan.Stages[si]
	n, start, err := b.resumePoint(ctx, si, true)
	if err != nil {
		return err
	}
	for _, id := range st.Steps[:n] {
		b.cachedStep(b.plan.Step(id))
		if s := b.plan.Step(id); s.MakesLayer {
			b.mu.Lock()
			b.reused = append(b.reused, s.Key.String())
			b.mu.Unlock()
		}
	}
	if n == 0 {
		if st.BaseStage >= 0 {
			start, _ = b.out(st.BaseStage)
		} else {
			start = point{template: st.Base}
		}
	}
	rest := st.Steps[n:]
	if len(rest) == 0 && !target {
		b.setOut(si, start)
		return nil
	}
	sb := &sandbox{}
	sb.id, err = b.createSandbox(ctx, start)
	if err != nil {
		return err
	}
	defer func() {
		if sb.id != "" {
			destroy(b.req.Agent, sb.id)
		}
	}()
	out := start
	for i, id := range rest {
		s := b.plan.Step(id)
		var unlock func()
		if s.MakesLayer && !b.noCache(s) {
			unlock = lockKey(b.facts.id + "\x00" + s.Key.String())
			p, ok, err := b.madeMeanwhile(ctx, s)
			if err != nil {
				unlock()
				return err
			}
			if ok {
				// Another build in this process ran the step while
				// this one waited: continue from its layer.
				unlock()
				destroy(b.req.Agent, sb.id)
				sb.id = ""
				if sb.id, err = b.createSandbox(ctx, p); err != nil {
					return err
				}
				b.cachedStep(s)
				out = p
				continue
			}
		}
		err := b.runStep(ctx, sb, s)
		if err != nil {
			if unlock != nil {
				unlock()
			}
			return err
		}
		lastLayer := true
		for _, later := range rest[i+1:] {
			if b.plan.Step(later).MakesLayer {
				lastLayer = false
			}
		}
		if s.MakesLayer && (b.commits(s) || lastLayer) {
			p, err := b.commit(ctx, sb, s, unlock) // unlocks once the key is recorded
			if err != nil {
				return err
			}
			out = p
		} else if unlock != nil {
			unlock()
		}
	}
	if !target {
		b.setOut(si, out)
		return nil
	}
	return b.finalize(ctx, sb, res)
}

// madeMeanwhile reports whether the step's key got a usable record after
// this build looked the stage up (another build made it).
func (b *builder) madeMeanwhile(ctx context.Context, s *compiler.Step) (point, bool, error) {
	rec, err := b.req.Store.Get(ctx, s.Key.String())
	if err != nil {
		if errors.Is(err, cache.ErrNotFound) {
			return point{}, false, nil
		}
		return point{}, false, fmt.Errorf("cache lookup: %w", err)
	}
	if rec.Snapshot.Agent != b.facts.id || !b.exists(ctx, rec.Snapshot) {
		return point{}, false, nil
	}
	return pointOf(rec.Snapshot), true, nil
}

// commit turns the sandbox's changes into a layer (or, on an agent without
// LayerService, a snapshot the sandbox is recreated from) and records the
// step's key only after the agent returned, then calls unlock (when not
// nil). The agent is asked to hash the layer after answering
// (defer_digest): the key is then recorded, and unlock called, in the
// background once GetLayer has the digest, while the next step runs;
// finish waits for it.
func (b *builder) commit(ctx context.Context, sb *sandbox, s *compiler.Step, unlock func()) (point, error) {
	release := func() {
		if unlock != nil {
			unlock()
		}
	}
	snap, dgst, size, err := b.makeLayer(ctx, sb, s)
	switch {
	case err != nil:
		release()
		return point{}, err
	case b.facts.layers && dgst == "": // hashed after the agent answered
		b.recordLater(s, snap, release)
		return pointOf(snap), nil
	}
	defer release()
	if err := b.req.Store.Put(ctx, cache.NewRecord(b.plan, s, snap, dgst, size, b.name)); err != nil {
		return point{}, fmt.Errorf("record step %d: %w", s.ID, err)
	}
	return pointOf(snap), nil
}

// makeLayer has the agent make step s's layer: a commit on an agent with
// LayerService (its digest empty when deferred), else a snapshot the
// sandbox is recreated from.
func (b *builder) makeLayer(ctx context.Context, sb *sandbox, s *compiler.Step) (snap cache.SnapshotRef, dgst string, size int64, err error) {
	if b.facts.layers {
		resp, err := b.req.Agent.CommitLayer(ctx, connect.NewRequest(&lpb.CommitLayerRequest{SandboxId: sb.id, DeferDigest: true}))
		if err != nil {
			return snap, "", 0, fmt.Errorf("commit layer of step %d: %w", s.ID, err)
		}
		l := resp.Msg.Layer
		return cache.SnapshotRef{Agent: b.facts.id, ID: l.Id, Kind: cache.KindLayer}, l.Digest, l.SizeBytes, nil
	}
	name := "wrenn-layer-" + compiler.ShortKey(s.Key)
	resp, err := b.req.Agent.CreateSnapshot(ctx, connect.NewRequest(&pb.CreateSnapshotRequest{SandboxId: sb.id, Name: name}))
	if err != nil {
		return snap, "", 0, fmt.Errorf("snapshot step %d: %w", s.ID, err)
	}
	// the snapshot ended the sandbox: a new one goes on from it ("" on error)
	if sb.id, err = b.createSandbox(ctx, point{template: name}); err != nil {
		return snap, "", 0, err
	}
	return cache.SnapshotRef{Agent: b.facts.id, ID: name, Kind: cache.KindSnapshot}, "", resp.Msg.SizeBytes, nil
}

// recordLater records step s's key once the agent has its layer's digest
// (GetLayer waits for it), in the background, then calls release. The
// layer is whole already, so a build cancelled meanwhile still records it.
func (b *builder) recordLater(s *compiler.Step, snap cache.SnapshotRef, release func()) {
	b.recording.Add(1)
	go func() {
		defer b.recording.Done()
		defer release()
		ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
		defer cancel()
		err := func() error {
			resp, err := b.req.Agent.GetLayer(ctx, connect.NewRequest(&lpb.GetLayerRequest{LayerId: snap.ID}))
			if err != nil {
				return err
			}
			l := resp.Msg.Layer
			return b.req.Store.Put(ctx, cache.NewRecord(b.plan, s, snap, l.Digest, l.SizeBytes, b.name))
		}()
		if err != nil {
			b.mu.Lock()
			b.recordErr = errors.Join(b.recordErr, fmt.Errorf("record step %d: %w", s.ID, err))
			b.mu.Unlock()
		}
	}()
}

// recordTimeout bounds a background record: the agent's digest of the
// layer and one cache write.
const recordTimeout = 10 * time.Minute

// exec runs script with /bin/sh -c as the seed does.
func (b *builder) exec(ctx context.Context, sandboxID, script string, timeout time.Duration) (*pb.ExecResponse, error) {
	resp, err := b.req.Agent.Exec(ctx, connect.NewRequest(&pb.ExecRequest{SandboxId: sandboxID, Cmd: "/bin/sh", Args: []string{"-c", script}, TimeoutSec: timeoutSec(timeout)}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// runStep runs one step and logs it. START only logs: its process would
// not survive the next commit, so finalize launches it.
func (b *builder) runStep(ctx context.Context, sb *sandbox, s *compiler.Step) error {
	t0 := time.Now()
	b.emit(Event{Type: "step-start", Step: s.ID, Phase: string(s.Phase), Cmd: s.Text})
	entry := LogEntry{Step: s.ID, Phase: string(s.Phase), Cmd: s.Text}
	var stdout, stderr string
	exit := 0
	fail := func(err error) error {
		entry.ElapsedMs = time.Since(t0).Milliseconds()
		entry.Stdout, entry.Stderr, entry.Exit = stdout, stderr, exit
		b.logStep(entry)
		b.emit(Event{Type: "step-end", Step: s.ID, Phase: string(s.Phase), Cmd: s.Text, Status: "failed", Exit: exit, Elapsed: time.Since(t0), Output: lastLine(stdout, stderr)})
		return err
	}
	direct := false // a COPY whose files are in place: nothing to run
	if s.Copy != nil {
		var err error
		if direct, err = b.copyDirect(ctx, sb, s); err != nil {
			return fail(fmt.Errorf("%s step %d failed: %w", s.Phase, s.ID, err))
		}
	}
	script := ""
	if s.Kind != lang.KindStart && !direct {
		script = s.Script()
	}
	if script != "" {
		if s.Copy != nil {
			prefix, err := b.stage(ctx, sb, s)
			if err != nil {
				return fail(fmt.Errorf("%s step %d failed: %w", s.Phase, s.ID, err))
			}
			// The staging area is removed in the same exec, so it
			// never ends up in the layer.
			script = prefix + "( " + script + " ); rc=$?; rm -rf " + compiler.Quote(s.Copy.Staging) + " " + uploadTar + "; exit $rc"
		}
		out, err := b.execStep(ctx, sb.id, script, s.Timeout, s.ID)
		if err != nil {
			return fail(fmt.Errorf("%s step %d failed: %w", s.Phase, s.ID, err))
		}
		stdout, stderr, exit = string(out.stdout), string(out.stderr), out.exit
		if exit != 0 {
			msg := strings.TrimSpace(stderr)
			if msg == "" {
				msg = fmt.Sprintf("exit code %d", exit)
			}
			return fail(fmt.Errorf("%s step %d failed: %s", s.Phase, s.ID, msg))
		}
	}
	entry.Ok, entry.Stdout, entry.Stderr = true, stdout, stderr
	entry.ElapsedMs = time.Since(t0).Milliseconds()
	b.logStep(entry)
	b.emit(Event{Type: "step-end", Step: s.ID, Phase: string(s.Phase), Cmd: s.Text, Status: "done", Elapsed: time.Since(t0), Output: lastLine(stdout, stderr)})
	return nil
}

// uploadTar is where a COPY's tar goes on an agent without ExtractTar.
const uploadTar = "/tmp/build-files.tar"

// stage puts a COPY's sources under its staging directory: the selected
// context files as a tar (only those travel), or for --from the paths
// tarred out of a sandbox on the source stage's output. With ExtractTar the
// tar streams straight into the staging directory, written as it is sent
// (no tarball, no tar process, the context never whole in memory), and
// prefix is empty. Otherwise the tar is uploaded with WriteFile and prefix
// is the shell that extracts it, for the step's own exec to run first.
func (b *builder) stage(ctx context.Context, sb *sandbox, s *compiler.Step) (prefix string, err error) {
	c := s.Copy
	var write func(io.Writer) error
	if c.FromStage < 0 {
		if b.req.Options.Context == nil {
			return "", fmt.Errorf("COPY needs a build context")
		}
		write = func(w io.Writer) error { return b.req.Options.Context.WriteTar(w, c.Selection) }
	} else {
		data, err := b.tarFromStage(ctx, c)
		if err != nil {
			return "", err
		}
		write = func(w io.Writer) error { _, err := w.Write(data); return err }
	}
	if ta, ok := b.req.Agent.(TarAgent); ok && b.facts.layers && !b.noExtract.Load() {
		err := extractTar(ctx, ta, &lpb.ExtractTarHeader{SandboxId: sb.id, Path: c.Staging}, write)
		if !errors.Is(err, errNoExtract) {
			if err != nil {
				return "", fmt.Errorf("extract build files: %w", err)
			}
			return "", nil
		}
		b.noExtract.Store(true)
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return "", err
	}
	if _, err := b.req.Agent.WriteFile(ctx, connect.NewRequest(&pb.WriteFileRequest{SandboxId: sb.id, Path: uploadTar, Content: buf.Bytes()})); err != nil {
		return "", fmt.Errorf("upload build files: %w", err)
	}
	st := compiler.Quote(c.Staging)
	return "mkdir -p " + st + " && tar xf " + uploadTar + " -C " + st + " && rm -f " + uploadTar + " || exit $?; ", nil
}

// errNoExtract: the agent answers ExtractTar with Unimplemented.
var errNoExtract = errors.New("agent has no ExtractTar")

// extractTar streams what write writes to the sandbox's ExtractTar as hdr
// says, in chunks of tarChunk bytes.
func extractTar(ctx context.Context, ta TarAgent, hdr *lpb.ExtractTarHeader, write func(io.Writer) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st := ta.ExtractTar(ctx)
	closeErr := func() error {
		_, err := st.CloseAndReceive()
		if isUnimplemented(err) {
			return errNoExtract
		}
		return err
	}
	if err := st.Send(&lpb.ExtractTarRequest{Msg: &lpb.ExtractTarRequest_Header{Header: hdr}}); err != nil {
		if errors.Is(err, io.EOF) { // the agent answered already: its error says why
			return closeErr()
		}
		return err
	}
	cw := &chunkSender{st: st, buf: make([]byte, 0, tarChunk)}
	err := write(cw)
	if err == nil {
		err = cw.flush()
	}
	switch {
	case errors.Is(err, errAgentAnswered) || errors.Is(cw.err, errAgentAnswered):
		return closeErr()
	case err != nil:
		_, _ = st.CloseAndReceive()
		return err
	}
	return closeErr()
}

// errAgentAnswered: a Send found the stream closed, because the agent
// answered (with an error) before the end.
var errAgentAnswered = errors.New("the agent answered before the end of the stream")

// chunkSender sends what is written to it as ExtractTar chunks of
// tarChunk bytes, in the writer's goroutine: no pipe, no second copy.
type chunkSender struct {
	st  *connect.ClientStreamForClient[lpb.ExtractTarRequest, lpb.ExtractTarResponse]
	buf []byte
	err error
}

func (c *chunkSender) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if c.err != nil {
			return n, c.err
		}
		k := copy(c.buf[len(c.buf):cap(c.buf)], p)
		c.buf = c.buf[:len(c.buf)+k]
		n += k
		p = p[k:]
		if len(c.buf) == cap(c.buf) {
			c.err = c.flush()
		}
	}
	return n, c.err
}

// flush sends what is buffered. Send has written the chunk out when it
// returns, so the buffer is reused.
func (c *chunkSender) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	err := c.st.Send(&lpb.ExtractTarRequest{Msg: &lpb.ExtractTarRequest_Chunk{Chunk: c.buf}})
	c.buf = c.buf[:0]
	if errors.Is(err, io.EOF) {
		return errAgentAnswered
	}
	return err
}

// tarChunk is the size of the chunks ExtractTar sends.
const tarChunk = 1 << 20

func (b *builder) tarFromStage(ctx context.Context, c *compiler.CopySpec) ([]byte, error) {
	src, ok := b.out(c.FromStage)
	if !ok {
		return nil, fmt.Errorf("stage %d has not been built", c.FromStage)
	}
	id, err := b.createSandbox(ctx, src)
	if err != nil {
		return nil, err
	}
	defer destroy(b.req.Agent, id)
	var paths []string
	for _, p := range c.Sources {
		paths = append(paths, compiler.Quote(strings.TrimPrefix(path.Clean("/"+p), "/")))
	}
	out, err := b.exec(ctx, id, "tar cf /tmp/wrenn-from.tar -C / "+strings.Join(paths, " "), 5*time.Minute)
	if err != nil {
		return nil, err
	}
	if out.ExitCode != 0 {
		return nil, fmt.Errorf("COPY --from: %s", strings.TrimSpace(string(out.Stderr)))
	}
	data, err := b.req.Agent.ReadFile(ctx, connect.NewRequest(&pb.ReadFileRequest{SandboxId: id, Path: "/tmp/wrenn-from.tar"}))
	if err != nil {
		return nil, err
	}
	return data.Msg.Content, nil
}

func lastLine(outs ...string) string {
	l := ""
	for _, o := range outs {
		for _, line := range strings.Split(o, "\n") {
			if t := strings.TrimSpace(line); t != "" {
				l = t
			}
		}
	}
	return l
}
