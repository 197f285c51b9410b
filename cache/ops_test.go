package cache_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/cache/cachetest"
)

var bg = context.Background()

// t0 is "now" in these tests; records are used at t0 minus some hours.
var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// world is a store and an agent that agree, built step by step.
type world struct {
	t     *testing.T
	s     cache.Store
	agent *cachetest.FakeAgent
}

func newWorld(t *testing.T) *world {
	return &world{t: t, s: cache.NewMemStore(), agent: cachetest.NewFakeAgent("agent-a")}
}

// step commits a layer on parent's layer and records it, used hoursAgo.
func (w *world) step(parent, text string, size, hoursAgo int) string {
	w.t.Helper()
	parentLayer := ""
	var parents []string
	if parent != "" {
		pr, err := w.s.Get(bg, parent)
		if err != nil {
			w.t.Fatal(err)
		}
		parentLayer = pr.Snapshot.ID
		parents = []string{parent}
	}
	info := w.agent.AddLayer(parentLayer, []byte(strings.Repeat(text[:1], size)))
	pre := []byte(fmt.Sprintf(`{"v":1,"parent":%q,"text":%q}`, parent, text))
	key := digest.FromBytes(pre).String()
	rec := cache.Record{Key: key, Snapshot: cache.SnapshotRef{Agent: "agent-a", ID: info.ID, Kind: cache.KindLayer},
		Parents: parents, Text: text, Preimage: pre, Digest: info.Digest, SizeBytes: info.SizeBytes,
		Created: t0.Add(-100 * time.Hour), LastUsed: t0.Add(-time.Duration(hoursAgo) * time.Hour)}
	if err := w.s.Put(bg, rec); err != nil {
		w.t.Fatal(err)
	}
	return key
}

func (w *world) ref(name, key string) {
	if err := w.s.PutRef(bg, cache.Ref{Name: name, Key: key}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) has(key string) bool {
	_, err := w.s.Get(bg, key)
	return err == nil
}

// texts returns the step texts of records, in order.
func texts(recs []cache.Record) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.Text)
	}
	return out
}

// layout: web = a1 <- a2 <- a3; api = a1 <- b2; dangling c1 <- c2.
func layout(w *world) map[string]string {
	k := map[string]string{}
	k["a1"] = w.step("", "a1 RUN apt-get install", 100, 50)
	k["a2"] = w.step(k["a1"], "a2 COPY app/ /srv/", 10, 10)
	k["a3"] = w.step(k["a2"], "a3 RUN make", 20, 1)
	k["b2"] = w.step(k["a1"], "b2 RUN pip install", 30, 5)
	k["c1"] = w.step("", "c1 RUN old", 40, 90)
	k["c2"] = w.step(k["c1"], "c2 RUN older child", 50, 80)
	w.ref("web", k["a3"])
	w.ref("api", k["b2"])
	return k
}

func TestPruneDefaultKeepsRefsAndDeletesChildrenFirst(t *testing.T) {
	w := newWorld(t)
	k := layout(w)
	res, err := cache.Prune(bg, w.s, w.agent, cache.PruneOptions{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	// c2 is newer than c1 but goes first: c1 is its parent.
	if got, want := texts(res.Deleted), []string{"c2 RUN older child", "c1 RUN old"}; !reflect.DeepEqual(got, want) {
		t.Errorf("deleted %v, want %v", got, want)
	}
	if res.FreedBytes != 90 || res.LeftBytes != 160 {
		t.Errorf("freed %d left %d, want 90 and 160", res.FreedBytes, res.LeftBytes)
	}
	for _, n := range []string{"a1", "a2", "a3", "b2"} {
		if !w.has(k[n]) {
			t.Errorf("%s deleted", n)
		}
	}
	if len(w.agent.Deleted) != 2 {
		t.Errorf("agent deletions: %v", w.agent.Deleted)
	}
}

func TestPruneAllSparesHeldChains(t *testing.T) {
	w := newWorld(t)
	k := layout(w)
	if err := w.s.Hold(bg, cache.NewLease("build-1", time.Hour, []string{k["b2"]}, nil)); err != nil {
		t.Fatal(err)
	}
	res, err := cache.Prune(bg, w.s, w.agent, cache.PruneOptions{All: true, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	// b2 is held, so a1 (its parent) stays; LRU order among leaves.
	if got, want := texts(res.Deleted), []string{"c2 RUN older child", "c1 RUN old", "a3 RUN make", "a2 COPY app/ /srv/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("deleted %v, want %v", got, want)
	}
	if !w.has(k["a1"]) || !w.has(k["b2"]) {
		t.Error("a held chain was pruned")
	}
	_ = w.s.Release(bg, "build-1")
	res, _ = cache.Prune(bg, w.s, w.agent, cache.PruneOptions{All: true, Now: t0})
	if len(res.Deleted) != 2 {
		t.Errorf("after release deleted %v", texts(res.Deleted))
	}
	if layers, _ := w.agent.ListLayers(bg); len(layers) != 0 {
		t.Errorf("layers left on the agent: %v", layers)
	}
}

func TestPruneKeepStorageIsLRU(t *testing.T) {
	w := newWorld(t)
	layout(w)
	// 250 bytes in all; keep 200: the least recently used leaf (c2, 80h)
	// goes, and that is enough.
	res, err := cache.Prune(bg, w.s, w.agent, cache.PruneOptions{All: true, KeepStorage: 200, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(res.Deleted); !reflect.DeepEqual(got, []string{"c2 RUN older child"}) {
		t.Errorf("deleted %v", got)
	}
	res, _ = cache.Prune(bg, w.s, w.agent, cache.PruneOptions{All: true, KeepStorage: 100, Now: t0})
	if got, want := texts(res.Deleted), []string{"c1 RUN old", "b2 RUN pip install", "a3 RUN make", "a2 COPY app/ /srv/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("second prune deleted %v, want %v", got, want)
	}
	if res.LeftBytes != 100 {
		t.Errorf("left %d bytes", res.LeftBytes)
	}
}

func TestPruneUntilAndFilter(t *testing.T) {
	w := newWorld(t)
	k := layout(w)
	res, err := cache.Prune(bg, w.s, w.agent, cache.PruneOptions{All: true, Until: 8 * time.Hour, Now: t0, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	// a3 (1h) and b2 (5h) are recent; a1 and a2 have recent children.
	if got, want := texts(res.Deleted), []string{"c2 RUN older child", "c1 RUN old"}; !reflect.DeepEqual(got, want) {
		t.Errorf("until 8h deleted %v, want %v", got, want)
	}
	if len(w.agent.Deleted) != 0 || !w.has(k["c1"]) {
		t.Error("dry run deleted something")
	}
	f, _ := cache.ParseFilter([]string{"text~=pip"})
	res, _ = cache.Prune(bg, w.s, w.agent, cache.PruneOptions{All: true, Filter: f, Now: t0})
	if got := texts(res.Deleted); !reflect.DeepEqual(got, []string{"b2 RUN pip install"}) {
		t.Errorf("filter text~=pip deleted %v", got)
	}
}

func TestPruneInUseRestoresRecord(t *testing.T) {
	w := newWorld(t)
	k := layout(w)
	c2, _ := w.s.Get(bg, k["c2"])
	w.agent.InUse[c2.Snapshot.ID] = true
	res, err := cache.Prune(bg, w.s, w.agent, cache.PruneOptions{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 0 || len(res.Skipped) != 1 || res.Skipped[0].Reason != "in use on the agent" {
		t.Errorf("deleted %v skipped %+v", texts(res.Deleted), res.Skipped)
	}
	got, err := w.s.Get(bg, k["c2"])
	if err != nil || string(got.Preimage) != string(c2.Preimage) {
		t.Errorf("record not restored: %v", err)
	}
	if !w.has(k["c1"]) {
		t.Error("parent of an in-use layer deleted")
	}
}

// A crash between deleting the record and deleting the layer leaves an
// orphan layer; the next prune collects it and verify reports it.
func TestOrphanAfterCrashIsCollected(t *testing.T) {
	w := newWorld(t)
	k := layout(w)
	c2, _ := w.s.Get(bg, k["c2"])
	_ = w.s.Delete(bg, k["c2"]) // the crash: record gone, layer kept
	v, err := cache.Verify(bg, w.s, w.agent, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Problems) != 1 || v.Problems[0].Kind != cache.ProblemOrphan || v.Problems[0].Layer != c2.Snapshot.ID || !v.Failed() {
		t.Fatalf("verify: %+v", v.Problems)
	}
	res, err := cache.Prune(bg, w.s, w.agent, cache.PruneOptions{Now: t0, Filter: cache.Filter{Key: "sha256:none"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Orphans) != 1 || res.Orphans[0].ID != c2.Snapshot.ID || w.agent.Has(c2.Snapshot.ID) {
		t.Errorf("orphans %+v", res.Orphans)
	}
	if v, _ := cache.Verify(bg, w.s, w.agent, false); v.Failed() {
		t.Errorf("still problems: %+v", v.Problems)
	}
}

func TestVerifyFindsAndRepairs(t *testing.T) {
	w := newWorld(t)
	k := layout(w)
	a3, _ := w.s.Get(bg, k["a3"])
	w.agent.Remove(a3.Snapshot.ID) // lost behind wrenn's back
	b2, _ := w.s.Get(bg, k["b2"])
	b2.SizeBytes = 999
	_ = w.s.Put(bg, b2)
	orphan := w.agent.AddLayer("", []byte("stray"))

	v, err := cache.Verify(bg, w.s, w.agent, false)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, p := range v.Problems {
		kinds[p.Kind] = p.Message
	}
	if len(v.Problems) != 3 || kinds[cache.ProblemMissing] == "" || kinds[cache.ProblemSize] == "" || kinds[cache.ProblemOrphan] == "" {
		t.Fatalf("problems: %+v", v.Problems)
	}
	wantMissing := fmt.Sprintf("%s (a3 RUN make): layer %s is gone from the agent", cache.ShortKey(k["a3"]), a3.Snapshot.ID)
	if kinds[cache.ProblemMissing] != wantMissing {
		t.Errorf("message %q, want %q", kinds[cache.ProblemMissing], wantMissing)
	}
	if v.Checked != 6 {
		t.Errorf("checked %d", v.Checked)
	}

	v, err = cache.Verify(bg, w.s, w.agent, true)
	if err != nil {
		t.Fatal(err)
	}
	if v.Failed() {
		t.Errorf("repair left problems: %+v", v.Problems)
	}
	if w.has(k["a3"]) || w.has(k["b2"]) || w.agent.Has(orphan.ID) || w.agent.Has(b2.Snapshot.ID) {
		t.Error("repair did not drop dead records, the mismatched layer and the orphan")
	}
	if v, _ := cache.Verify(bg, w.s, w.agent, false); len(v.Problems) != 0 {
		t.Errorf("after repair: %+v", v.Problems)
	}
}

func TestExportImport(t *testing.T) {
	src := newWorld(t)
	k := layout(src)
	dir := t.TempDir()
	res, err := cache.Export(bg, src.s, src.agent, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Layers != 6 || res.Records != 6 || res.Refs != 2 || res.Bytes != 250 {
		t.Errorf("export: %+v", res)
	}

	dst := &world{t: t, s: cache.NewMemStore(), agent: cachetest.NewFakeAgent("agent-b")}
	res, err = cache.Import(bg, dst.s, dst.agent, dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Layers != 6 || res.Records != 6 || res.Refs != 2 {
		t.Errorf("import: %+v", res)
	}
	for name, key := range k {
		want, _ := src.s.Get(bg, key)
		got, err := dst.s.Get(bg, key)
		if err != nil {
			t.Fatalf("%s not imported: %v", name, err)
		}
		if got.Snapshot.Agent != "agent-b" || !dst.agent.Has(got.Snapshot.ID) {
			t.Errorf("%s points at %+v", name, got.Snapshot)
		}
		if string(dst.agent.Content(got.Snapshot.ID)) != string(src.agent.Content(want.Snapshot.ID)) {
			t.Errorf("%s: content differs", name)
		}
		if got.Text != want.Text || string(got.Preimage) != string(want.Preimage) || !reflect.DeepEqual(got.Parents, want.Parents) {
			t.Errorf("%s: record differs", name)
		}
		if want.Parent() != "" {
			pl, _ := dst.s.Get(bg, want.Parent())
			info, _ := dst.agent.GetLayer(bg, got.Snapshot.ID)
			if info.Parent != pl.Snapshot.ID {
				t.Errorf("%s: layer parent %s, want %s", name, info.Parent, pl.Snapshot.ID)
			}
		}
	}
	if v, _ := cache.Verify(bg, dst.s, dst.agent, false); len(v.Problems) != 0 {
		t.Errorf("verify after import: %+v", v.Problems)
	}
	// A second import reuses the layers.
	res, err = cache.Import(bg, dst.s, dst.agent, dir)
	if err != nil || res.Layers != 0 || res.Skipped != 6 {
		t.Errorf("re-import: %+v %v", res, err)
	}
}

func TestImportRejectsTampering(t *testing.T) {
	src := newWorld(t)
	layout(src)
	dir := t.TempDir()
	if _, err := cache.Export(bg, src.s, src.agent, dir); err != nil {
		t.Fatal(err)
	}
	blobs, _ := filepath.Glob(filepath.Join(dir, "blobs", "sha256", "*"))
	if len(blobs) != 6 {
		t.Fatalf("%d blobs", len(blobs))
	}
	victim := blobs[2]
	orig, _ := os.ReadFile(victim)
	if err := os.WriteFile(victim, append(orig, "evil"...), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := cachetest.NewFakeAgent("agent-b")
	s := cache.NewMemStore()
	_, err := cache.Import(bg, s, dst, dir)
	if !errors.Is(err, cache.ErrTampered) {
		t.Fatalf("import of a tampered blob: %v", err)
	}
	want := fmt.Sprintf("export does not match its digests: %s has digest %s, the manifest says sha256:%s: the file was changed or damaged after export",
		victim, digest.FromBytes(append(orig, "evil"...)), filepath.Base(victim))
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}
	if layers, _ := dst.ListLayers(bg); len(layers) != 0 {
		t.Error("a tampered import reached the agent")
	}
	_ = os.WriteFile(victim, orig, 0o644)

	// A record whose preimage no longer matches its key.
	var m cache.Manifest
	b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m.Records[1].Preimage = []byte(strings.Replace(string(m.Records[1].Preimage), "RUN", "CMD", 1))
	b, _ = json.Marshal(m)
	_ = os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644)
	if _, err := cache.Import(bg, s, dst, dir); !errors.Is(err, cache.ErrTampered) || !strings.Contains(err.Error(), "the manifest was changed") {
		t.Errorf("import of a changed manifest: %v", err)
	}
}

func TestListAndDiskUsage(t *testing.T) {
	w := newWorld(t)
	k := layout(w)
	all, err := cache.List(bg, w.s, cache.Filter{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 || all[0].Text != "a3 RUN make" || all[5].Text != "c1 RUN old" {
		t.Errorf("order: %v", all)
	}
	for _, e := range all {
		if e.Key == k["a1"] && !reflect.DeepEqual(e.Refs, []string{"api", "web"}) {
			t.Errorf("a1 refs %v", e.Refs)
		}
		if e.Key == k["c1"] && (e.Refs == nil || len(e.Refs) != 0) {
			t.Errorf("c1 refs %#v, want empty non-nil", e.Refs)
		}
	}
	for filter, want := range map[string]int{"ref=web": 3, "ref=api": 2, "unused": 2, "until=20h": 3, "text~=RUN": 5, "key=" + cache.ShortKey(k["b2"]): 1} {
		f, err := cache.ParseFilter([]string{filter})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := cache.List(bg, w.s, f, t0)
		if len(got) != want {
			t.Errorf("filter %s: %d records, want %d", filter, len(got), want)
		}
	}
	u, err := cache.DiskUsage(bg, w.s, t0)
	if err != nil {
		t.Fatal(err)
	}
	if u.TotalBytes != 250 || u.ReclaimableBytes != 90 || u.Records != 6 {
		t.Errorf("du: %+v", u)
	}
	want := []cache.TemplateUsage{
		{Name: "api", Key: k["b2"], Layers: 2, SizeBytes: 130, ExclusiveBytes: 30},
		{Name: "web", Key: k["a3"], Layers: 3, SizeBytes: 130, ExclusiveBytes: 30},
	}
	if !reflect.DeepEqual(u.Templates, want) {
		t.Errorf("per template:\n got %+v\nwant %+v", u.Templates, want)
	}
}

func TestParseFilterErrors(t *testing.T) {
	for in, want := range map[string]string{
		"ref":        `--filter "ref": want ref=NAME`,
		"until=soon": `--filter "until=soon": want until=DURATION such as 36h or 7d`,
		"text=apt":   `--filter "text=apt": want text~=SUBSTRING`,
		"size>1":     "--filter \"size>1\": unknown filter \"size>1\"; filters are:\n" + cache.FilterHelp,
	} {
		_, err := cache.ParseFilter([]string{in})
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", in, err, want)
		}
	}
	if d, err := cache.ParseDuration("1.5d"); err != nil || d != 36*time.Hour {
		t.Errorf("1.5d = %v %v", d, err)
	}
}

// Layers that sit on a base the importing agent has in another version
// are left out, with their records, and the import says so.
func TestImportSkipsLayersOnADifferentBase(t *testing.T) {
	src := newWorld(t)
	layout(src)
	dir := t.TempDir()
	if _, err := cache.Export(bg, src.s, src.agent, dir); err != nil {
		t.Fatal(err)
	}
	dst := cachetest.NewFakeAgent("agent-b")
	dst.SetBase("sha256:other")
	s := cache.NewMemStore()
	res, err := cache.Import(bg, s, dst, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "base template minimal differs on this agent (sha256:other, the export's is sha256:minimal): its layers were not imported"
	if res.Layers != 0 || res.Records != 0 || len(res.Warnings) != 1 || res.Warnings[0] != want {
		t.Errorf("import: %+v", res)
	}
	if layers, _ := dst.ListLayers(bg); len(layers) != 0 {
		t.Errorf("layers imported onto the wrong base: %v", layers)
	}
}
