package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/agent/agenttest"
	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
)

func runWrenn(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// mustRunWrenn is runWrenn that fails t unless wrenn exits with want.
func mustRunWrenn(t *testing.T, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	out, errOut, code := runWrenn(t, args...)
	if code != want {
		t.Fatalf("wrenn %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out, errOut
}

// cacheFixture is a real agent server (fake backend, real socket) with two
// committed layers, and a cache directory recording them plus one record
// whose layer is gone.
type cacheFixture struct {
	dir      string
	agentURL string
	backend  *agenttest.Fake
	keys     []string // k1 (layer 1), k2 (layer 2 on 1), k3 (dead)
	layers   []string
}

func newCacheFixture(t *testing.T, agentID string) *cacheFixture {
	t.Helper()
	ctx := context.Background()
	b := agenttest.NewFake()
	srv := agenttest.Start(t, b, agenttest.Config{Options: []agent.Option{agent.WithAgentID(agentID)}})
	fx := &cacheFixture{dir: t.TempDir(), agentURL: srv.URL, backend: b}
	sb, err := b.CreateSandbox(ctx, agent.SandboxSpec{Template: "minimal"})
	if err != nil {
		t.Fatal(err)
	}
	for i, content := range []string{"hello", "world, longer content"} {
		if err := b.WriteFile(ctx, sb.ID, fmt.Sprintf("/srv/f%d", i), []byte(content)); err != nil {
			t.Fatal(err)
		}
		l, err := b.CommitLayer(ctx, sb.ID)
		if err != nil {
			t.Fatal(err)
		}
		fx.layers = append(fx.layers, l.ID)
	}
	if err := b.DestroySandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	s, err := cache.Open(fx.dir, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC()
	texts := []string{"COPY f0 /srv/f0", "RUN echo world > /srv/f1", "RUN apt-get install -y curl"}
	parent := ""
	for i, text := range texts {
		pre := []byte(fmt.Sprintf(`{"version":1,"kind":"RUN","parents":[%q],"text":%q}`, parent, text))
		key := digest.FromBytes(pre).String()
		rec := cache.Record{Key: key, Text: text, Preimage: pre, Template: "web",
			Source:   lang.Range{File: "Wrennfile", Start: lang.Pos{Line: i + 2, Column: 1}},
			Created:  now.Add(-time.Duration(10-i) * time.Hour),
			LastUsed: now.Add(-time.Duration(5-i) * time.Hour), Hits: int64(i)}
		if i < 2 {
			info, _ := b.Layer(ctx, fx.layers[i])
			rec.Snapshot = cache.SnapshotRef{Agent: agentID, ID: info.ID, Kind: cache.KindLayer}
			rec.SizeBytes, rec.Digest = info.SizeBytes, info.Digest
		} else {
			rec.Snapshot = cache.SnapshotRef{Agent: agentID, ID: "layer-gone", Kind: cache.KindLayer}
			rec.SizeBytes = 1000
		}
		if parent != "" {
			rec.Parents = []string{parent}
		}
		if err := s.Put(ctx, rec); err != nil {
			t.Fatal(err)
		}
		fx.keys = append(fx.keys, key)
		if i < 1 {
			parent = key
		} else {
			parent = ""
		}
	}
	if err := s.PutRef(ctx, cache.Ref{Name: "web", Key: fx.keys[1]}); err != nil {
		t.Fatal(err)
	}
	return fx
}

func TestCacheLsJSONShape(t *testing.T) {
	fx := newCacheFixture(t, "agent-a")
	out, errOut, code := runWrenn(t, "cache", "ls", "--cache-dir", fx.dir, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc map[string][]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	recs := doc["records"]
	if len(doc) != 1 || len(recs) != 3 {
		t.Fatalf("document: %s", out)
	}
	for _, r := range recs {
		var fields []string
		for k := range r {
			fields = append(fields, k)
		}
		sort.Strings(fields)
		if want := []string{"created", "hits", "key", "last_used", "refs", "size_bytes", "text"}; !reflect.DeepEqual(fields, want) {
			t.Errorf("fields %v, want %v", fields, want)
		}
	}
	// Most recently used first: the dead record was used last.
	var first struct {
		Key  string   `json:"key"`
		Refs []string `json:"refs"`
	}
	raw, _ := json.Marshal(recs[0])
	_ = json.Unmarshal(raw, &first)
	if first.Key != fx.keys[2] || string(recs[0]["refs"]) != "[]" {
		t.Errorf("first record %s refs %s", first.Key, recs[0]["refs"])
	}
	if string(recs[2]["refs"]) != `["web"]` {
		t.Errorf("k1 refs %s", recs[2]["refs"])
	}

	// An empty store gives [] too.
	out, _, code = runWrenn(t, "cache", "ls", "--cache-dir", t.TempDir(), "--format", "json")
	if code != 0 || out != "{\"records\":[]}\n" {
		t.Errorf("empty store: exit %d %q", code, out)
	}
}

func TestCacheLsTableAndFilters(t *testing.T) {
	fx := newCacheFixture(t, "agent-a")
	out, _, code := runWrenn(t, "cache", "ls", "--cache-dir", fx.dir, "--filter", "ref=web")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "KEY ") || !strings.Contains(lines[0], "LAST USED") {
		t.Fatalf("table:\n%s", out)
	}
	if !strings.HasPrefix(lines[1], cache.ShortKey(fx.keys[1])+"  RUN echo world > /srv/f1") || !strings.Contains(lines[1], "web") || !strings.Contains(lines[1], "hours ago") {
		t.Errorf("row: %q", lines[1])
	}
	out, _, _ = runWrenn(t, "cache", "ls", "--cache-dir", fx.dir, "--filter", "text~=apt", "--format", "json")
	if !strings.Contains(out, fx.keys[2]) || strings.Contains(out, fx.keys[0]) {
		t.Errorf("text~=apt: %s", out)
	}
	_, errOut, code := runWrenn(t, "cache", "ls", "--cache-dir", fx.dir, "--filter", "colour=red")
	if code != ExitUsage || !strings.Contains(errOut, `unknown filter "colour"`) {
		t.Errorf("bad filter: exit %d %s", code, errOut)
	}
	_, errOut, code = runWrenn(t, "cache", "ls", "--cache-dir", fx.dir, "--format", "yaml")
	if code != ExitUsage || !strings.Contains(errOut, `unknown --format "yaml": want table or json`) {
		t.Errorf("bad format: exit %d %s", code, errOut)
	}
}

func TestCacheInspect(t *testing.T) {
	fx := newCacheFixture(t, "agent-a")
	out, errOut, code := runWrenn(t, "cache", "inspect", "--cache-dir", fx.dir, cache.ShortKey(fx.keys[1])[:8])
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"key:        " + fx.keys[1],
		"step:       RUN echo world > /srv/f1",
		"source:     Wrennfile:3:1",
		"snapshot:   layer " + fx.layers[1] + " on agent agent-a",
		"refs:       web",
		"chain (this layer first, back to the base):\n  " + cache.ShortKey(fx.keys[1]) + "  line 3 RUN echo world > /srv/f1\n  " + cache.ShortKey(fx.keys[0]) + "  line 2 COPY f0 /srv/f0\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	_, errOut, code = runWrenn(t, "cache", "inspect", "--cache-dir", fx.dir, "ffffffffffff")
	if code != 1 || errOut != "wrenn: no cached layer has a key starting with ffffffffffff\n" {
		t.Errorf("unknown key: exit %d %q", code, errOut)
	}
}

func TestCacheInspectAmbiguousPrefix(t *testing.T) {
	dir := t.TempDir()
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range []string{"RUN one", "RUN two"} {
		key := fmt.Sprintf("sha256:abcd%060d", i)
		if err := s.Put(context.Background(), cache.Record{Key: key, Text: text, Snapshot: cache.SnapshotRef{ID: "l"}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	_, errOut, code := runWrenn(t, "cache", "inspect", "--cache-dir", dir, "abcd")
	want := "wrenn: key prefix abcd is ambiguous; it matches:\n  abcd0000000000000000  RUN one\n  abcd0000000000000000  RUN two\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d\n got %q\nwant %q", code, errOut, want)
	}
}

func TestCacheDu(t *testing.T) {
	fx := newCacheFixture(t, "agent-a")
	out, _, code := runWrenn(t, "cache", "du", "--cache-dir", fx.dir, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var u cache.Usage
	if err := json.Unmarshal([]byte(out), &u); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	_ = json.Unmarshal([]byte(out), &raw)
	if _, ok := raw["total_bytes"]; !ok {
		t.Error("no total_bytes")
	}
	if _, ok := raw["reclaimable_bytes"]; !ok {
		t.Error("no reclaimable_bytes")
	}
	layerSize := int64(len("hello") + len("world, longer content"))
	if u.TotalBytes != layerSize+1000 || u.ReclaimableBytes != 1000 || len(u.Templates) != 1 || u.Templates[0].Layers != 2 {
		t.Errorf("du: %+v", u)
	}
	out, _, _ = runWrenn(t, "cache", "du", "--cache-dir", fx.dir)
	if !strings.Contains(out, "reclaimable:  1.0 kB (wrenn cache prune)") || !strings.Contains(out, "web       2") {
		t.Errorf("du text:\n%s", out)
	}
}

func TestCacheVerifyAndRepair(t *testing.T) {
	fx := newCacheFixture(t, "agent-a")
	args := []string{"cache", "verify", "--cache-dir", fx.dir, "--agent", fx.agentURL}
	out, errOut, code := runWrenn(t, args...)
	want := fmt.Sprintf("missing-snapshot: %s (line 4 RUN apt-get install -y curl): layer layer-gone is gone from the agent\n", cache.ShortKey(fx.keys[2]))
	if code != 1 || out != want {
		t.Fatalf("verify: exit %d\n got %q\nwant %q\n%s", code, out, want, errOut)
	}
	if !strings.Contains(errOut, "checked 3 records against 2 agent layers: 1 problem; run 'wrenn cache verify --repair' to fix them") {
		t.Errorf("summary: %q", errOut)
	}
	out, errOut, code = runWrenn(t, append(args, "--repair")...)
	if code != 0 || !strings.HasSuffix(out, "(repaired)\n") || !strings.Contains(errOut, "all repaired") {
		t.Fatalf("repair: exit %d %q %q", code, out, errOut)
	}
	if out, _, code := runWrenn(t, args...); code != 0 || out != "" {
		t.Errorf("after repair: exit %d %q", code, out)
	}
}

func TestCachePrune(t *testing.T) {
	fx := newCacheFixture(t, "agent-a")
	out, errOut, code := runWrenn(t, "cache", "prune", "--cache-dir", fx.dir, "--dry-run", "--all")
	if code != 0 {
		t.Fatalf("dry run: exit %d %s", code, errOut)
	}
	if n := strings.Count(out, "would delete "); n != 3 || !strings.Contains(errOut, "would delete 3 layers and 0 orphans") {
		t.Errorf("dry run:\n%s%s", out, errOut)
	}
	_, errOut, code = runWrenn(t, "cache", "prune", "--cache-dir", fx.dir, "--agent", fx.agentURL)
	if code != 0 || !strings.Contains(errOut, "deleted 1 layer and 0 orphans, freed 1.0 kB") {
		t.Errorf("prune: exit %d %s", code, errOut)
	}
	_, errOut, code = runWrenn(t, "cache", "prune", "--cache-dir", fx.dir, "--agent", fx.agentURL, "--all")
	if code != 0 || !strings.Contains(errOut, "deleted 2 layers and 0 orphans") {
		t.Errorf("prune --all: exit %d %s", code, errOut)
	}
	layers, _ := fx.backend.ListLayers(context.Background())
	if len(layers) != 0 {
		t.Errorf("agent still has %d layers", len(layers))
	}
	_, errOut, code = runWrenn(t, "cache", "prune", "--cache-dir", fx.dir, "--keep-storage", "lots")
	if code != ExitUsage || !strings.Contains(errOut, `--keep-storage "lots": want a size such as 500MB or 20GiB`) {
		t.Errorf("bad size: exit %d %s", code, errOut)
	}
}

func TestCacheLockedDirectory(t *testing.T) {
	fx := newCacheFixture(t, "agent-a")
	s, err := cache.Open(fx.dir, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Writers fail, naming the holder.
	_, errOut, code := runWrenn(t, "cache", "prune", "--dry-run", "--cache-dir", fx.dir)
	want := fmt.Sprintf("wrenn: cache directory %s is in use by process %d (", fx.dir, os.Getpid())
	if code != 1 || !strings.HasPrefix(errOut, want) || !strings.HasSuffix(errOut, "wait for it to finish, retry with --lock-wait, or use another --cache-dir\n") {
		t.Errorf("prune: exit %d: %q", code, errOut)
	}
	// Readers read a snapshot.
	out, errOut, code := runWrenn(t, "cache", "ls", "--cache-dir", fx.dir, "--format", "json")
	if code != 0 || errOut != fmt.Sprintf("wrenn: note: process %d holds %s; showing a snapshot taken now\n", os.Getpid(), fx.dir) || strings.Count(out, `"key"`) != 3 {
		t.Errorf("ls: exit %d: %q %s", code, errOut, out)
	}
}

func TestCacheAgentFlags(t *testing.T) {
	_, errOut, code := runWrenn(t, "cache", "verify", "--cache-dir", t.TempDir(), "--agent", "ftp://x", "--root", "/tmp/x")
	if code != ExitUsage || !strings.Contains(errOut, "--agent and --root choose different agents") {
		t.Errorf("exit %d %s", code, errOut)
	}
	_, errOut, code = runWrenn(t, "cache", "verify", "--cache-dir", t.TempDir(), "--agent", "ftp://x")
	if code != ExitUsage || !strings.Contains(errOut, `agent url "ftp://x"`) {
		t.Errorf("exit %d %s", code, errOut)
	}
}

// The adapter maps connect codes back to the cache's sentinels over a
// real socket.
func TestCacheAgentAdapterErrors(t *testing.T) {
	fx := newCacheFixture(t, "agent-x")
	c, err := agent.Dial(fx.agentURL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a := cacheAgent{c}
	ctx := context.Background()
	if id, err := a.Identity(ctx); err != nil || id != "agent-x" {
		t.Errorf("Identity = %q %v", id, err)
	}
	if _, err := a.GetLayer(ctx, "layer-none"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("GetLayer of a missing layer: %v", err)
	}
	if err := a.DeleteLayer(ctx, fx.layers[0]); !errors.Is(err, cache.ErrInUse) {
		t.Errorf("DeleteLayer of a parent: %v", err)
	}
	l, err := a.GetLayer(ctx, fx.layers[1])
	if err != nil || l.Parent != fx.layers[0] || l.SizeBytes != int64(len("world, longer content")) || l.Created.IsZero() {
		t.Errorf("GetLayer = %+v %v", l, err)
	}
}

func TestCacheInspectPreimage(t *testing.T) {
	dir := t.TempDir()
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pre := compiler.Preimage{Version: compiler.PreimageVersion, Kind: "COPY", User: "app", Workdir: "/srv",
		Args:      map[string]string{"dest": "/srv/", "chown": "app:app", "chmod": ""},
		Sources:   []string{"app"},
		Env:       map[string]string{"PATH": "/usr/bin:/bin", "APP_HOME": "/srv/app"},
		BuildArgs: map[string]string{"VERSION": "2"},
		Inputs:    []compiler.InputFile{{Path: "app/main.py", Type: "file", Mode: 0o644, Digest: digest.FromString("x")}},
		Parents:   []digest.Digest{digest.FromString("parent")},
	}
	b := pre.Encode()
	key := digest.FromBytes(b).String()
	if err := s.Put(context.Background(), cache.Record{Key: key, Text: "COPY app/ /srv/", Preimage: b, Parents: []string{digest.FromString("parent").String()}, Snapshot: cache.SnapshotRef{ID: "l1", Agent: "a"}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	out, errOut, code := runWrenn(t, "cache", "inspect", "--cache-dir", dir, key)
	if code != 0 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	want := `preimage:
  version:    2
  kind:       COPY
  args:       chmod=
              chown=app:app
              dest=/srv/
  sources:    app
  user:       app
  workdir:    /srv
  env:        APP_HOME=/srv/app
              PATH=/usr/bin:/bin
  build_args: VERSION=2
  inputs:     app/main.py file 0644 ` + digest.FromString("x").String() + `
  parents:    ` + digest.FromString("parent").String() + `
chain (this layer first, back to the base):
  ` + cache.ShortKey(key) + `  COPY app/ /srv/
  ` + cache.ShortKey(digest.FromString("parent").String()) + `  (no record: the base template or a step without a layer)
`
	if i := strings.Index(out, "preimage:"); i < 0 || out[i:] != want {
		t.Errorf("inspect:\n%s\nwant tail:\n%s", out, want)
	}
	out, _, _ = runWrenn(t, "cache", "inspect", "--cache-dir", dir, "--format", "json", key)
	var doc struct {
		Preimage *compiler.Preimage `json:"preimage"`
		Chain    []map[string]any   `json:"chain"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Preimage == nil || doc.Preimage.Env["APP_HOME"] != "/srv/app" || len(doc.Chain) != 2 {
		t.Errorf("json: %v %s", err, out)
	}
}
