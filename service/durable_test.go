package service

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// TestRestartLosesNothing stops the server with one build running and
// others queued: after a restart on the same directory every build
// finishes, the running one re-run from the queue.
func TestRestartLosesNothing(t *testing.T) {
	dir := t.TempDir()
	r := newFakeRunner()
	r.gate = make(chan struct{}) // nothing finishes before the restart
	ts := startServer(t, dir, nil, r, Config{Workers: 1})
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, ts.create(t, "r", "RUN echo", fmt.Sprintf("RUN echo %d", i)).Id)
	}
	waitStarted(t, r, ids[0])
	for b := ts.waitStatus(t, ids[0], StatusRunning); b.SandboxId == ""; b = ts.get(t, ids[0]) {
		time.Sleep(5 * time.Millisecond) // until the runner named its sandbox
	}
	ts.stop()

	// Recovery alone: the build that was running is pending again, and
	// no longer names the host and sandbox it ran on.
	st, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	q, err := NewBadgerQueue(st)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{Store: st, Queue: q, Runner: newFakeRunner(), Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b, err := st.Get(context.Background(), ids[0]); err != nil || b.Status != StatusPending || b.Host != "" || b.SandboxId != "" {
		t.Errorf("after recovery: %v %v", b, err)
	}
	q.Close()
	st.Close()

	r2 := newFakeRunner()
	ts2 := startServer(t, dir, nil, r2, Config{Workers: 2})
	for _, id := range ids {
		b := ts2.waitStatus(t, id, StatusSuccess)
		if r2.runCount(id) != 1 {
			t.Errorf("build %s ran %d times after restart", id, r2.runCount(id))
		}
		if id == ids[0] && b.Attempts != 2 {
			t.Errorf("re-queued build attempts = %d, want 2", b.Attempts)
		}
	}
}

func TestWatchLiveThenReplay(t *testing.T) {
	r := newFakeRunner()
	r.gate = make(chan struct{})
	ts := startServer(t, t.TempDir(), nil, r, Config{Workers: 1})
	b := ts.create(t, "w", "RUN echo a", "RUN false")
	waitStarted(t, r, b.Id)
	stream, err := ts.client.WatchBuild(context.Background(), connect.NewRequest(&buildv1.WatchBuildRequest{Id: b.Id}))
	if err != nil {
		t.Fatal(err)
	}
	close(r.gate)
	live := collect(t, stream)
	want := "status running|start 1 RUN echo a|stdout out RUN echo a\n|end 1 ok|start 2 RUN false|stderr boom\n|end 2 failed|status failed recipe step 2 failed: boom\n"
	if got := strings.Join(live, "|"); !strings.HasSuffix(got, want) {
		t.Errorf("live events:\n%s\nwant suffix:\n%s", got, want)
	}
	// A late watcher gets the same story from the stored log.
	stream, err = ts.client.WatchBuild(context.Background(), connect.NewRequest(&buildv1.WatchBuildRequest{Id: b.Id}))
	if err != nil {
		t.Fatal(err)
	}
	replayed := strings.Join(collect(t, stream), "|")
	if replayed != strings.TrimPrefix(want, "status running|") {
		t.Errorf("replayed events:\n%s\nwant:\n%s", replayed, want)
	}
}

func collect(t *testing.T, stream *connect.ServerStreamForClient[buildv1.WatchBuildResponse]) []string {
	t.Helper()
	var out []string
	for stream.Receive() {
		switch ev := stream.Msg().Event.(type) {
		case *buildv1.WatchBuildResponse_Status:
			s := "status " + ev.Status.Status
			if ev.Status.Error != "" {
				s += " " + ev.Status.Error
			}
			out = append(out, s)
		case *buildv1.WatchBuildResponse_StepStart:
			out = append(out, fmt.Sprintf("start %d %s", ev.StepStart.Step, ev.StepStart.Cmd))
		case *buildv1.WatchBuildResponse_Output:
			out = append(out, ev.Output.Stream+" "+string(ev.Output.Data))
		case *buildv1.WatchBuildResponse_StepEnd:
			res := "ok"
			if !ev.StepEnd.Entry.Ok {
				res = "failed"
			}
			out = append(out, fmt.Sprintf("end %d %s", ev.StepEnd.Entry.Step, res))
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func tarOf(t *testing.T, entries map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}

func gzipOf(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	if buf.Len() > 64<<10 {
		t.Fatalf("gzip bomb is %d bytes", buf.Len())
	}
	return buf.Bytes()
}

func TestArchivesValidatedAtCreate(t *testing.T) {
	r := newFakeRunner()
	r.gate = make(chan struct{}) // the archive goes when the build ends: not before it is looked at
	ts := startServer(t, t.TempDir(), nil, r, Config{MaxArchiveBytes: 64 << 10, ArchiveMaxEntries: 10, ArchiveMaxBytes: 1 << 20})
	many := map[string]string{}
	for i := 0; i < 20; i++ {
		many[fmt.Sprintf("f%d", i)] = "x"
	}
	for _, tc := range []struct {
		name    string
		archive []byte
		want    string
	}{
		{"escape", tarOf(t, map[string]string{"../evil": "x"}), `invalid archive: archive entry "../evil"`},
		{"entries", tarOf(t, many), "invalid archive"},
		{"bomb", gzipOf(t, tarOf(t, map[string]string{"zeros": strings.Repeat("\x00", 2<<20)})), "invalid archive"},
		{"bytes", tarOf(t, map[string]string{"big": strings.Repeat("x", 2<<20)}), "more than the limit"},
	} {
		_, err := ts.client.CreateBuild(context.Background(), connect.NewRequest(&buildv1.CreateBuildRequest{
			Name: tc.name, Recipe: []string{"COPY f0 /f0"}, Archive: tc.archive,
		}))
		if connectCode(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	// A good archive is stored durably and handed to the runner's context.
	resp, err := ts.client.CreateBuild(context.Background(), connect.NewRequest(&buildv1.CreateBuildRequest{
		Name: "ok", Recipe: []string{"COPY f0 /f0"}, Archive: tarOf(t, map[string]string{"f0": "hello"}),
	}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ts.store.Archive(context.Background(), resp.Msg.Build.Id)
	if err != nil || len(got) == 0 || !resp.Msg.Build.HasArchive {
		t.Fatalf("archive not stored: %d bytes, has_archive %v, %v", len(got), resp.Msg.Build.HasArchive, err)
	}
	close(r.gate)
	ts.waitStatus(t, resp.Msg.Build.Id, StatusSuccess)
}
