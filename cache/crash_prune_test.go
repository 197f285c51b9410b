package cache_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/cache/cachetest"
)

// dirAgent is an AgentLayers whose layers are files in a directory, so
// that a helper process and the test see the same agent. DeleteLayer is
// slow, to widen the window a kill lands in.
type dirAgent struct {
	dir   string
	delay time.Duration
}

func (a dirAgent) Identity(context.Context) (string, error) { return "dir-agent", nil }

func (a dirAgent) ListLayers(context.Context) ([]cache.LayerInfo, error) {
	ents, err := os.ReadDir(a.dir)
	if err != nil {
		return nil, err
	}
	var out []cache.LayerInfo
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, cache.LayerInfo{ID: e.Name(), SizeBytes: 1})
		}
	}
	return out, nil
}

func (a dirAgent) GetLayer(_ context.Context, id string) (cache.LayerInfo, error) {
	if _, err := os.Stat(filepath.Join(a.dir, id)); err != nil {
		return cache.LayerInfo{}, cache.ErrNotFound
	}
	return cache.LayerInfo{ID: id, SizeBytes: 1}, nil
}

func (a dirAgent) DeleteLayer(_ context.Context, id string) error {
	time.Sleep(a.delay)
	if err := os.Remove(filepath.Join(a.dir, id)); errors.Is(err, os.ErrNotExist) {
		return cache.ErrNotFound
	} else if err != nil {
		return err
	}
	return nil
}

func (a dirAgent) ExportLayer(context.Context, string, io.Writer) error { return errors.ErrUnsupported }
func (a dirAgent) ImportLayer(context.Context, string, string, string, io.Reader) (cache.LayerInfo, error) {
	return cache.LayerInfo{}, errors.ErrUnsupported
}
func (a dirAgent) GetTemplate(context.Context, string, string) (cache.TemplateInfo, error) {
	return cache.TemplateInfo{}, cache.ErrNotFound
}
func (a dirAgent) DeleteSnapshot(context.Context, string) error { return cache.ErrNotFound }

// helperPruner prunes everything, slowly, and says when it started.
func helperPruner(dir, layers string) {
	s, err := cache.Open(dir, cache.Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("pruning")
	_, err = cache.Prune(context.Background(), s, dirAgent{dir: layers, delay: 5 * time.Millisecond}, cache.PruneOptions{All: true})
	fmt.Println("done", err)
	os.Exit(0)
}

// TestKillDuringPrune kills a pruning process with SIGKILL and checks the
// crash order: no record may point at a deleted layer (at worst a layer is
// left with no record), and the next prune collects the orphans.
func TestKillDuringPrune(t *testing.T) {
	// Kill once this many layers are gone: the prune is surely under way.
	for round, gone := range []int{3, 40} {
		dir, layers := t.TempDir(), t.TempDir()
		s, err := cache.Open(dir, cache.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var recs []cache.Record
		for i := 0; i < 200; i++ {
			r := cachetest.Rec(i, i-1)
			if i%20 == 0 {
				r.Parents = nil
			}
			r.Snapshot.Agent, r.SizeBytes = "dir-agent", 1
			if err := os.WriteFile(filepath.Join(layers, r.Snapshot.ID), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, r)
		}
		if err := s.PutMany(bg, recs); err != nil {
			t.Fatal(err)
		}
		s.Close()

		cmd, out := helperEnv(t, "pruner", dir, "WRENN_CACHE_LAYERS="+layers)
		if !out.Scan() || out.Text() != "pruning" {
			t.Fatalf("round %d: pruner said %q", round, out.Text())
		}
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
			ls, _ := dirAgent{dir: layers}.ListLayers(bg)
			if 200-len(ls) >= gone || time.Now().After(deadline) {
				break
			}
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		for out.Scan() {
			if strings.HasPrefix(out.Text(), "done") {
				t.Fatalf("round %d: prune finished before the kill; lengthen it", round)
			}
		}
		_ = cmd.Wait()

		s, err = cache.Open(dir, cache.Options{})
		if err != nil {
			t.Fatalf("store does not open after kill -9 mid-prune: %v", err)
		}
		agent := dirAgent{dir: layers}
		left, orphans := 0, 0
		_ = s.Records(bg, false, func(r cache.Record) error {
			left++
			if _, err := agent.GetLayer(bg, r.Snapshot.ID); err != nil {
				t.Errorf("round %d: record %s points at deleted layer %s", round, r.Key, r.Snapshot.ID)
			}
			return nil
		})
		v, err := cache.Verify(bg, s, agent, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range v.Problems {
			if p.Kind != cache.ProblemOrphan {
				t.Errorf("round %d: %s", round, p.Message)
			}
			orphans++
		}
		if left == 0 || left == 200 {
			t.Errorf("round %d: kill landed outside the prune (%d records left)", round, left)
		}
		if orphans > 1 {
			t.Errorf("round %d: %d orphans; one prune step in flight leaves at most one", round, orphans)
		}
		if _, err := cache.Prune(bg, s, agent, cache.PruneOptions{All: true}); err != nil {
			t.Fatal(err)
		}
		if ls, _ := agent.ListLayers(bg); len(ls) != 0 {
			t.Errorf("round %d: %d layers left after the second prune", round, len(ls))
		}
		s.Close()
		t.Logf("round %d: killed with %d records left, %d orphan", round, left, orphans)
	}
}
