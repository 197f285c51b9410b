package service

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/types/known/timestamppb"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// seedRecords writes n records straight into a Records backend: build i
// has name "t<i%names>", ids ascend with i, and every failEvery-th is
// failed (the rest success).
func seedRecords(t testing.TB, st Records, n, names, failEvery int) []string {
	t.Helper()
	base := time.Now().Add(-time.Hour)
	ids := make([]string, n)
	for i := range n {
		b := &buildv1.Build{
			Id:   fmt.Sprintf("bld-%016x%08x", base.Add(time.Duration(i)*time.Microsecond).UnixNano(), i),
			Name: fmt.Sprintf("t%d", i%names), Status: StatusSuccess,
			CreatedAt: timestamppb.New(base), CompletedAt: timestamppb.New(base.Add(time.Duration(i) * time.Microsecond)),
			Logs: []*buildv1.LogEntry{{Step: 1, Phase: "recipe", Cmd: "RUN echo", Stdout: "hello\n", Ok: true}},
		}
		if failEvery > 0 && i%failEvery == 0 {
			b.Status = StatusFailed
		}
		if err := st.Insert(context.Background(), b, nil); err != nil {
			t.Fatal(err)
		}
		ids[i] = b.Id
	}
	return ids
}

// listAll pages through a query and returns the ids in order.
func listAll(t testing.TB, st Records, q ListQuery) []string {
	t.Helper()
	var ids []string
	for page := 0; ; page++ {
		bs, next, err := st.List(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) > q.PageSize {
			t.Fatalf("page of %d, size %d", len(bs), q.PageSize)
		}
		for _, b := range bs {
			if (q.Status != "" && b.Status != q.Status) || (q.Name != "" && b.Name != q.Name) {
				t.Fatalf("%+v listed build %s %s %s", q, b.Id, b.Name, b.Status)
			}
			ids = append(ids, b.Id)
		}
		if next == "" {
			return ids
		}
		if page > 1000 {
			t.Fatal("paging does not end")
		}
		q.After = next
	}
}

// testRecords is the conformance suite every Records backend passes.
func testRecords(t *testing.T, st Records) {
	ctx := context.Background()
	ids := seedRecords(t, st, 23, 3, 4)
	want := func(keep func(i int) bool) []string {
		var out []string
		for i := len(ids) - 1; i >= 0; i-- {
			if keep(i) {
				out = append(out, ids[i])
			}
		}
		return out
	}
	for _, tc := range []struct {
		q    ListQuery
		keep func(int) bool
	}{
		{ListQuery{PageSize: 5}, func(int) bool { return true }},
		{ListQuery{PageSize: 2, Status: StatusFailed}, func(i int) bool { return i%4 == 0 }},
		{ListQuery{PageSize: 3, Name: "t1"}, func(i int) bool { return i%3 == 1 }},
		{ListQuery{PageSize: 1, Name: "t0", Status: StatusSuccess}, func(i int) bool { return i%3 == 0 && i%4 != 0 }},
		{ListQuery{PageSize: 50, Name: "nobody"}, func(int) bool { return false }},
	} {
		got, exp := listAll(t, st, tc.q), want(tc.keep)
		if fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Errorf("%+v:\n got %v\nwant %v", tc.q, got, exp)
		}
	}
	// An exact last page has no next token.
	if bs, next, _ := st.List(ctx, ListQuery{PageSize: 23}); len(bs) != 23 || next != "" {
		t.Errorf("full page: %d builds, next %q", len(bs), next)
	}

	// A status change moves the build between indexes; finishing deletes
	// the archive.
	b := &buildv1.Build{Id: "bld-ffffffffffffffff00000000", Name: "t9", Status: StatusPending, HasArchive: true, CreatedAt: timestamppb.Now()}
	if err := st.Insert(ctx, b, []byte("archive")); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.ByStatus(ctx, StatusPending); fmt.Sprint(got) != "["+b.Id+"]" {
		t.Errorf("pending = %v", got)
	}
	if _, err := st.Update(ctx, b.Id, func(b *buildv1.Build) error { b.Status = StatusRunning; return nil }); err != nil {
		t.Fatal(err)
	}
	if a, _ := st.Archive(ctx, b.Id); string(a) != "archive" {
		t.Errorf("running build's archive = %q", a)
	}
	if got, _ := st.ByStatus(ctx, StatusPending); len(got) != 0 {
		t.Errorf("pending after start = %v", got)
	}
	errStop := errors.New("stop")
	if _, err := st.Update(ctx, b.Id, func(b *buildv1.Build) error { b.Status = StatusFailed; return errStop }); !errors.Is(err, errStop) {
		t.Errorf("aborted update: %v", err)
	}
	if got, _ := st.Get(ctx, b.Id); got.Status != StatusRunning {
		t.Errorf("aborted update was written: %s", got.Status)
	}
	if _, err := st.Update(ctx, b.Id, func(b *buildv1.Build) error {
		b.Status, b.CompletedAt = StatusCancelled, timestamppb.Now()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if a, _ := st.Archive(ctx, b.Id); a != nil {
		t.Errorf("finished build still has its archive (%d bytes)", len(a))
	}
	if got := listAll(t, st, ListQuery{PageSize: 10, Status: StatusCancelled, Name: "t9"}); fmt.Sprint(got) != "["+b.Id+"]" {
		t.Errorf("cancelled t9 = %v", got)
	}
	if got := listAll(t, st, ListQuery{PageSize: 10, Status: StatusRunning}); len(got) != 0 {
		t.Errorf("running after cancel = %v", got)
	}
	if _, err := st.Get(ctx, "bld-nope"); !errors.Is(err, errNotFound) {
		t.Errorf("get unknown: %v", err)
	}

	// Prune removes finished builds completed before the cutoff, nothing
	// else: ids[0..9] completed earliest.
	live := &buildv1.Build{Id: "bld-0000000000000001", Name: "old-but-pending", Status: StatusPending, CreatedAt: timestamppb.New(time.Unix(1, 0))}
	if err := st.Insert(ctx, live, nil); err != nil {
		t.Fatal(err)
	}
	old, _ := st.Get(ctx, ids[10])
	n, err := st.Prune(ctx, old.CompletedAt.AsTime())
	if err != nil || n != 10 {
		t.Fatalf("prune = %d, %v; want 10", n, err)
	}
	for i, id := range ids {
		_, err := st.Get(ctx, id)
		if gone := errors.Is(err, errNotFound); gone != (i < 10) {
			t.Errorf("build %d after prune: %v", i, err)
		}
	}
	if got := listAll(t, st, ListQuery{PageSize: 7}); len(got) != 23-10+2 {
		t.Errorf("listed after prune: %d", len(got))
	}
	if got := listAll(t, st, ListQuery{PageSize: 7, Name: "t0"}); len(got) != 4 {
		t.Errorf("t0 after prune: %v", got)
	}
	if _, err := st.Get(ctx, live.Id); err != nil {
		t.Errorf("prune removed a pending build: %v", err)
	}
}

func TestBadgerRecordsConformance(t *testing.T) {
	st, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testRecords(t, st)
}

// TestStoreIndexesOldRecords opens a store written before the indexes
// existed: they are built on open.
func TestStoreIndexesOldRecords(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := seedRecords(t, st, 5, 2, 0)
	// Strip every index entry and the version, as an old store had.
	err = st.db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("i/")})
		var keys [][]byte
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		it.Close()
		for _, k := range append(keys, []byte(keyIndexVer)) {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, st, ListQuery{PageSize: 5, Name: "t1"}); len(got) != 0 {
		t.Fatalf("index not stripped: %v", got)
	}
	st.Close()
	st, err = OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := listAll(t, st, ListQuery{PageSize: 5, Name: "t1"}); fmt.Sprint(got) != fmt.Sprint([]string{ids[3], ids[1]}) {
		t.Errorf("t1 after reindex = %v", got)
	}
}

// TestRetentionLoopPrunesFinishedBuilds runs the service's pruner with a
// short retention: finished builds (and their archives) go, a queued
// build stays however old it is.
func TestRetentionLoopPrunesFinishedBuilds(t *testing.T) {
	r := newFakeRunner()
	ts := startServer(t, t.TempDir(), nil, r, Config{Workers: 1, Retention: 300 * time.Millisecond, PruneEvery: 50 * time.Millisecond})
	done := ts.create(t, "done", "RUN echo a")
	failed := ts.create(t, "failed", "RUN false")
	ts.waitStatus(t, done.Id, StatusSuccess)
	ts.waitStatus(t, failed.Id, StatusFailed)
	// Block the worker so that the next build stays pending past the
	// retention.
	r.mu.Lock()
	r.gate = make(chan struct{})
	r.mu.Unlock()
	blocker := ts.create(t, "blocker", "RUN echo b")
	waitStarted(t, r, blocker.Id)
	pending := ts.create(t, "pending", "RUN echo c")
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range []string{done.Id, failed.Id} {
		for {
			_, err := ts.client.GetBuild(context.Background(), connect.NewRequest(&buildv1.GetBuildRequest{Id: id}))
			if connectCode(err) == connect.CodeNotFound {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("build %s not pruned: %v", id, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(400 * time.Millisecond) // past the retention, several prune rounds
	for _, id := range []string{blocker.Id, pending.Id} {
		if b := ts.get(t, id); Finished(b.Status) {
			t.Errorf("build %s is %s", id, b.Status)
		}
	}
	close(r.gate)
	ts.waitStatus(t, pending.Id, StatusSuccess)
}

// BenchmarkListBuilds100k lists pages from 100,000 stored records: the
// first page, a page deep in the list, and filtered pages. Before the
// indexes, ListBuilds read every record (~280 ms a page).
func BenchmarkListBuilds100k(b *testing.B) {
	st, err := OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ids := bulkRecords(b, st, 100_000)
	bq, _ := NewBadgerQueue(st)
	svc, _ := New(Config{Store: st, Queue: bq, Runner: newFakeRunner()})
	for _, tc := range []struct {
		name string
		req  *buildv1.ListBuildsRequest
	}{
		{"first-page", &buildv1.ListBuildsRequest{PageSize: 50}},
		{"deep-page", &buildv1.ListBuildsRequest{PageSize: 50, PageToken: ids[50_000]}},
		{"status-failed", &buildv1.ListBuildsRequest{PageSize: 50, Status: StatusFailed}},
		{"name", &buildv1.ListBuildsRequest{PageSize: 50, Name: "t7"}},
		{"status-and-name", &buildv1.ListBuildsRequest{PageSize: 50, Status: StatusSuccess, Name: "t7"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := svc.ListBuilds(context.Background(), connect.NewRequest(tc.req))
				if err != nil || len(resp.Msg.Builds) != 50 {
					b.Fatal(len(resp.Msg.Builds), err)
				}
			}
		})
	}
}

// bulkRecords writes n records in large batches (what Insert writes, as
// fast as Badger takes it).
func bulkRecords(b *testing.B, st *Store, n int) []string {
	base := time.Now().Add(-time.Hour)
	ids := make([]string, n)
	const batch = 2000
	for lo := 0; lo < n; lo += batch {
		err := st.write(func(txn *badger.Txn) error {
			for i := lo; i < min(lo+batch, n); i++ {
				bl := &buildv1.Build{
					Id:   fmt.Sprintf("bld-%016x%08x", base.Add(time.Duration(i)*time.Microsecond).UnixNano(), i),
					Name: fmt.Sprintf("t%d", i%100), Status: StatusSuccess,
					CreatedAt: timestamppb.New(base), CompletedAt: timestamppb.New(base),
					Logs: []*buildv1.LogEntry{{Step: 1, Phase: "recipe", Cmd: "RUN echo", Stdout: "hello\n", Ok: true}},
				}
				if i%1000 == 0 {
					bl.Status = StatusFailed
				}
				if err := putBuild(txn, nil, bl); err != nil {
					return err
				}
				ids[i] = bl.Id
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return ids
}
