// Package cachetest is the conformance suite every cache.Store
// implementation must pass, so that unit tests written against
// cache.MemStore hold for the Badger store too (BuildKit keeps one such
// suite for its cache backends).
package cachetest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/lang"
)

// Run runs every conformance test. open returns a new, empty store; Run
// closes it.
func Run(t *testing.T, open func(t *testing.T) cache.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cache.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGetRoundTrip", testRoundTrip},
		{"PutReplaces", testPutReplaces},
		{"PutRejectsIncomplete", testPutRejects},
		{"Lookup", testLookup},
		{"Delete", testDelete},
		{"Children", testChildren},
		{"Touch", testTouch},
		{"TouchConcurrent", testTouchConcurrent},
		{"RecordsOrderAndPreimages", testRecords},
		{"RecordsStopsOnError", testRecordsStop},
		{"KeysWithPrefix", testKeysWithPrefix},
		{"Refs", testRefs},
		{"Leases", testLeases},
		{"StatCache", testStat},
		{"Bases", testBases},
		{"CanceledContext", testCanceled},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			tc.fn(t, s)
		})
	}
}

var ctx = context.Background()

// Key returns a valid-looking layer key for n.
func Key(n int) string { return fmt.Sprintf("sha256:%064x", n) }

// Rec returns a complete record for key n with parent p (p < 0: none).
func Rec(n, p int) cache.Record {
	r := cache.Record{
		Key:      Key(n),
		Snapshot: cache.SnapshotRef{Agent: "agent-1", ID: fmt.Sprintf("layer-%d", n), Kind: cache.KindLayer},
		Text:     fmt.Sprintf("RUN echo %d", n),
		Source: lang.Range{File: "Wrennfile",
			Start: lang.Pos{Line: n + 1, Column: 1, Offset: 10 * n},
			End:   lang.Pos{Line: n + 1, Column: 12, Offset: 10*n + 11}},
		Preimage:  []byte(fmt.Sprintf(`{"v":1,"n":%d}`, n)),
		Digest:    fmt.Sprintf("sha256:%064x", 1000+n),
		SizeBytes: int64(1024 * (n + 1)),
		Created:   time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		LastUsed:  time.Date(2026, 1, 3, 3, 4, 5, 6000, time.UTC),
		Hits:      2,
		Template:  "app",
		Stage:     "build",
	}
	if p >= 0 {
		r.Parents = []string{Key(p)}
	}
	return r
}

func mustPut(t *testing.T, s cache.Store, r cache.Record) {
	t.Helper()
	if err := s.Put(ctx, r); err != nil {
		t.Fatalf("Put(%s): %v", r.Key, err)
	}
}

func equalRecord(t *testing.T, got, want cache.Record) {
	t.Helper()
	if !got.Created.Equal(want.Created) || !got.LastUsed.Equal(want.LastUsed) {
		t.Errorf("times: got created %v last used %v, want %v %v", got.Created, got.LastUsed, want.Created, want.LastUsed)
	}
	got.Created, got.LastUsed, want.Created, want.LastUsed = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("record differs:\n got %+v\nwant %+v", got, want)
	}
}

func testGetMissing(t *testing.T, s cache.Store) {
	if _, err := s.Get(ctx, Key(1)); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get of a missing key: err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRef(ctx, "nope"); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("GetRef of a missing ref: err = %v, want ErrNotFound", err)
	}
}

func testRoundTrip(t *testing.T, s cache.Store) {
	want := Rec(1, 0)
	want.Parents = append(want.Parents, Key(7)) // COPY --from: two parents
	mustPut(t, s, want)
	got, err := s.Get(ctx, want.Key)
	if err != nil {
		t.Fatal(err)
	}
	equalRecord(t, got, want)

	// The caller's slices are not shared with the store.
	got.Parents[0] = "mutated"
	got.Preimage[0] = 'X'
	again, _ := s.Get(ctx, want.Key)
	equalRecord(t, again, want)

	// Zero times default to now; a record without a preimage has none.
	r := Rec(2, -1)
	r.Created, r.LastUsed, r.Preimage = time.Time{}, time.Time{}, nil
	before := time.Now().Add(-time.Second)
	mustPut(t, s, r)
	got2, _ := s.Get(ctx, r.Key)
	if got2.Created.Before(before) || !got2.LastUsed.Equal(got2.Created) {
		t.Errorf("default times: created %v last used %v", got2.Created, got2.LastUsed)
	}
	if got2.Preimage != nil || got2.Parents != nil {
		t.Errorf("empty fields came back as %q, %q", got2.Preimage, got2.Parents)
	}
}

func testPutReplaces(t *testing.T, s cache.Store) {
	mustPut(t, s, Rec(1, 0))
	r := Rec(1, 5)
	r.Snapshot.ID = "layer-new"
	r.Preimage = nil
	mustPut(t, s, r)
	got, _ := s.Get(ctx, r.Key)
	if got.Snapshot.ID != "layer-new" || got.Preimage != nil {
		t.Errorf("after replace: snapshot %q preimage %q", got.Snapshot.ID, got.Preimage)
	}
	if c, _ := s.Children(ctx, Key(0)); len(c) != 0 {
		t.Errorf("old parent still lists the child: %v", c)
	}
	if c, _ := s.Children(ctx, Key(5)); !reflect.DeepEqual(c, []string{Key(1)}) {
		t.Errorf("new parent's children = %v", c)
	}
}

func testPutRejects(t *testing.T, s cache.Store) {
	for name, mut := range map[string]func(*cache.Record){
		"no key":      func(r *cache.Record) { r.Key = "" },
		"no snapshot": func(r *cache.Record) { r.Snapshot.ID = "" },
		"bad kind":    func(r *cache.Record) { r.Snapshot.Kind = "tarball" },
		"self parent": func(r *cache.Record) { r.Parents = []string{r.Key} },
		"NUL in key":  func(r *cache.Record) { r.Key = "sha256:a\x00b" },
	} {
		r := Rec(1, 0)
		mut(&r)
		if err := s.Put(ctx, r); err == nil {
			t.Errorf("%s: Put accepted %+v", name, r)
		}
	}
	var n int
	_ = s.Records(ctx, false, func(cache.Record) error { n++; return nil })
	if n != 0 {
		t.Errorf("rejected records were stored: %d", n)
	}
}

func testLookup(t *testing.T, s cache.Store) {
	for i := 0; i < 5; i++ {
		mustPut(t, s, Rec(i, i-1))
	}
	got, err := s.Lookup(ctx, []string{Key(0), Key(3), Key(9)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[Key(3)].Text != "RUN echo 3" || got[Key(0)].Key != Key(0) {
		t.Errorf("Lookup = %v", got)
	}
	if string(got[Key(3)].Preimage) != `{"v":1,"n":3}` {
		t.Errorf("Lookup lost the preimage: %q", got[Key(3)].Preimage)
	}
}

func testDelete(t *testing.T, s cache.Store) {
	mustPut(t, s, Rec(1, 0))
	if err := s.Delete(ctx, Key(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, Key(1)); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("after Delete: %v", err)
	}
	if c, _ := s.Children(ctx, Key(0)); len(c) != 0 {
		t.Errorf("deleted record still a child: %v", c)
	}
	if err := s.Delete(ctx, Key(1)); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
}

func testChildren(t *testing.T, s cache.Store) {
	mustPut(t, s, Rec(1, 0))
	mustPut(t, s, Rec(3, 0))
	mustPut(t, s, Rec(2, 0))
	mustPut(t, s, Rec(4, 1))
	c, err := s.Children(ctx, Key(0))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{Key(1), Key(2), Key(3)}; !reflect.DeepEqual(c, want) {
		t.Errorf("Children = %v, want %v", c, want)
	}
	// A key that is a prefix of another parent must not match it.
	if c, _ := s.Children(ctx, Key(0)[:20]); len(c) != 0 {
		t.Errorf("prefix of a parent matched: %v", c)
	}
}

func testTouch(t *testing.T, s cache.Store) {
	r := Rec(1, -1)
	mustPut(t, s, r)
	later := r.LastUsed.Add(time.Hour)
	if err := s.Touch(ctx, []string{r.Key, Key(99)}, later); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, r.Key)
	if got.Hits != r.Hits+1 || !got.LastUsed.Equal(later) {
		t.Errorf("after Touch: hits %d last used %v", got.Hits, got.LastUsed)
	}
	// An older time counts the hit but never moves LastUsed back.
	_ = s.Touch(ctx, []string{r.Key}, r.LastUsed.Add(-time.Hour))
	got, _ = s.Get(ctx, r.Key)
	if got.Hits != r.Hits+2 || !got.LastUsed.Equal(later) {
		t.Errorf("after an older Touch: hits %d last used %v", got.Hits, got.LastUsed)
	}
	if string(got.Preimage) != string(r.Preimage) || !got.Created.Equal(r.Created) {
		t.Errorf("Touch changed other fields: %+v", got)
	}
}

func testTouchConcurrent(t *testing.T, s cache.Store) {
	r := Rec(1, -1)
	r.Hits = 0
	mustPut(t, s, r)
	var wg sync.WaitGroup
	const n = 8
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				if err := s.Touch(ctx, []string{r.Key}, time.Now()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got, _ := s.Get(ctx, r.Key)
	if got.Hits != n*10 {
		t.Errorf("hits = %d after %d concurrent touches", got.Hits, n*10)
	}
}

func testRecords(t *testing.T, s cache.Store) {
	for _, i := range []int{5, 2, 9, 1} {
		mustPut(t, s, Rec(i, -1))
	}
	var keys []string
	err := s.Records(ctx, false, func(r cache.Record) error {
		if r.Preimage != nil {
			t.Errorf("preimage returned with preimages=false")
		}
		keys = append(keys, r.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{Key(1), Key(2), Key(5), Key(9)}; !reflect.DeepEqual(keys, want) {
		t.Errorf("order = %v, want %v", keys, want)
	}
	_ = s.Records(ctx, true, func(r cache.Record) error {
		if len(r.Preimage) == 0 {
			t.Errorf("%s: no preimage with preimages=true", r.Key)
		}
		return nil
	})
}

func testRecordsStop(t *testing.T, s cache.Store) {
	for i := 0; i < 3; i++ {
		mustPut(t, s, Rec(i, -1))
	}
	stop := errors.New("stop")
	n := 0
	err := s.Records(ctx, false, func(cache.Record) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("err %v after %d calls, want stop after 1", err, n)
	}
}

func testKeysWithPrefix(t *testing.T, s cache.Store) {
	for i := 0; i < 20; i++ {
		mustPut(t, s, Rec(i, -1))
	}
	// Key(16)..Key(19) end in 10..13 in hex: ...1x.
	keys, err := s.KeysWithPrefix(ctx, Key(16)[:70], 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{Key(16), Key(17), Key(18), Key(19)}; !reflect.DeepEqual(keys, want) {
		t.Errorf("prefix keys = %v, want %v", keys, want)
	}
	if keys, _ := s.KeysWithPrefix(ctx, "sha256:", 3); len(keys) != 3 {
		t.Errorf("limit 3 gave %d keys", len(keys))
	}
	if keys, _ := s.KeysWithPrefix(ctx, "sha256:f", 0); len(keys) != 0 {
		t.Errorf("no-match prefix gave %v", keys)
	}
}

func testRefs(t *testing.T, s cache.Store) {
	created := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []string{"web", "api"} {
		if err := s.PutRef(ctx, cache.Ref{Name: n, Key: Key(len(n)), TemplateID: "t-" + n, Created: created}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutRef(ctx, cache.Ref{Name: "web", Key: Key(42), Keys: []string{Key(40), Key(41)}, TemplateID: "t-web2", Created: created}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRef(ctx, "web")
	if err != nil || got.Key != Key(42) || got.TemplateID != "t-web2" || !got.Created.Equal(created) || !reflect.DeepEqual(got.Keys, []string{Key(40), Key(41)}) {
		t.Errorf("GetRef = %+v, %v", got, err)
	}
	refs, _ := s.Refs(ctx)
	if len(refs) != 2 || refs[0].Name != "api" || refs[1].Name != "web" {
		t.Errorf("Refs = %+v", refs)
	}
	if err := s.DeleteRef(ctx, "api"); err != nil {
		t.Fatal(err)
	}
	if refs, _ := s.Refs(ctx); len(refs) != 1 {
		t.Errorf("after DeleteRef: %+v", refs)
	}
	if err := s.PutRef(ctx, cache.Ref{Key: Key(1)}); err == nil {
		t.Error("PutRef accepted a ref without a name")
	}
}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatalf("cannot run true: %v", err)
	}
	return cmd.Process.Pid
}

func testLeases(t *testing.T, s cache.Store) {
	now := time.Now()
	live := cache.NewLease("build-live", time.Hour, []string{Key(1)}, []string{"layer-1"})
	expired := cache.NewLease("build-expired", time.Hour, []string{Key(2)}, nil)
	expired.Expires = now.Add(-time.Minute)
	dead := cache.NewLease("build-dead", time.Hour, []string{Key(3)}, nil)
	dead.PID = deadPID(t)
	for _, l := range []cache.Lease{live, expired, dead} {
		if err := s.Hold(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Leases(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "build-live" || !reflect.DeepEqual(got[0].Keys, []string{Key(1)}) || !reflect.DeepEqual(got[0].Layers, []string{"layer-1"}) {
		t.Fatalf("Leases = %+v, want only build-live", got)
	}
	if got, _ := s.Leases(ctx, now.Add(2*time.Hour)); len(got) != 0 {
		t.Errorf("lease outlived its expiry: %+v", got)
	}
	_ = s.Hold(ctx, live)
	if err := s.Release(ctx, live.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Leases(ctx, now); len(got) != 0 {
		t.Errorf("after Release: %+v", got)
	}
	if err := s.Hold(ctx, cache.Lease{}); err == nil {
		t.Error("Hold accepted a lease without an id")
	}
}

func testStat(t *testing.T, s cache.Store) {
	k := cache.StatKey{Path: "app/main.py", Size: 12, MTime: 1700000000123456789, Inode: 42, Mode: 0o644}
	if _, ok, err := s.StatGet(ctx, k); ok || err != nil {
		t.Fatalf("empty stat cache: ok=%v err=%v", ok, err)
	}
	if err := s.StatPut(ctx, k, "sha256:abc"); err != nil {
		t.Fatal(err)
	}
	if d, ok, _ := s.StatGet(ctx, k); !ok || d != "sha256:abc" {
		t.Errorf("StatGet = %q %v", d, ok)
	}
	for name, mut := range map[string]func(*cache.StatKey){
		"size":  func(k *cache.StatKey) { k.Size++ },
		"mtime": func(k *cache.StatKey) { k.MTime++ },
		"inode": func(k *cache.StatKey) { k.Inode++ },
		"mode":  func(k *cache.StatKey) { k.Mode = 0o755 },
		"path":  func(k *cache.StatKey) { k.Path = "app/main.pyc" },
	} {
		k2 := k
		mut(&k2)
		if _, ok, _ := s.StatGet(ctx, k2); ok {
			t.Errorf("a different %s hit the stat cache", name)
		}
	}

	// StatPutAll and StatScan: a directory's tree, not its siblings
	batch := map[cache.StatKey]string{
		{Path: "/ctx/a", Size: 1, MTime: 5, Inode: 7, Mode: 0o644}:     "sha256:a",
		{Path: "/ctx/sub/b", Size: 1 << 40, MTime: -3, Inode: 1 << 63}: "sha256:b",
		{Path: "/ctx", Size: 0}:                                     "sha256:dir",
		{Path: "/ctx2/c", Size: 2}:                                  "sha256:sibling",
		{Path: "/ct", Size: 2}:                                      "sha256:shorter",
		{Path: "/other/ctx/d", Size: 4, MTime: 1700000000123456789}: "sha256:other",
	}
	if err := s.StatPutAll(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for k, want := range batch {
		if d, ok, err := s.StatGet(ctx, k); !ok || err != nil || d != want {
			t.Errorf("StatGet(%+v) after StatPutAll = %q %v %v", k, d, ok, err)
		}
	}
	for _, dir := range []string{"/ctx", "/ctx/"} {
		got := map[cache.StatKey]string{}
		if err := s.StatScan(ctx, dir, func(k cache.StatKey, d string) error {
			got[k] = d
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := map[cache.StatKey]string{}
		for k, d := range batch {
			if k.Path == "/ctx" || strings.HasPrefix(k.Path, "/ctx/") {
				want[k] = d
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("StatScan(%q) = %v, want %v", dir, got, want)
		}
	}
}

func testCanceled(t *testing.T, s cache.Store) {
	c, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(c, Rec(1, -1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a canceled context: %v", err)
	}
	if _, err := s.Get(c, Key(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a canceled context: %v", err)
	}
}

func testClosed(t *testing.T, s cache.Store) {
	mustPut(t, s, Rec(1, -1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, Key(1)); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if err := s.Put(ctx, Rec(2, -1)); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("Put after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func testBases(t *testing.T, s cache.Store) {
	env := map[string]string{"PATH": "/bin", "HOME": "/root"}
	for _, b := range []cache.Base{
		{Agent: "b", Template: "minimal", Digest: "sha256:1", Env: env},
		{Agent: "a", Template: "minimal", Digest: "sha256:2", Env: env},
		{Agent: "a", Template: "debian", Digest: "sha256:3"},
	} {
		if err := s.PutBase(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	env["PATH"] = "changed after Put"
	got, err := s.GetBase(ctx, "b", "minimal")
	if err != nil || got.Digest != "sha256:1" || got.Env["PATH"] != "/bin" || got.Updated.IsZero() {
		t.Errorf("GetBase = %+v, %v", got, err)
	}
	if _, err := s.GetBase(ctx, "c", "minimal"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("GetBase of another agent: %v", err)
	}
	all, _ := s.Bases(ctx)
	var names []string
	for _, b := range all {
		names = append(names, b.Agent+"/"+b.Template)
	}
	if want := []string{"a/debian", "a/minimal", "b/minimal"}; !reflect.DeepEqual(names, want) {
		t.Errorf("Bases = %v, want %v", names, want)
	}
	if err := s.PutBase(ctx, cache.Base{Agent: "a"}); err == nil {
		t.Error("PutBase accepted a base without a template")
	}
}
