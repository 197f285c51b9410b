package cache_test

import (
	"testing"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
)

// RecordParents skips steps that make no layer and ends at the stage base.
func TestRecordParentsSkipsNonLayerSteps(t *testing.T) {
	src := []byte("RUN a\nENV X=1\nSTART sleep 1\nRUN b\n")
	file, diags := lang.Parse("Wrennfile", src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plan, diags := compiler.Compile(file, compiler.Options{SkipPrePost: true})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	run1, run2 := plan.Steps[0], plan.Steps[3]
	if got := cache.RecordParents(plan, run2); len(got) != 1 || got[0] != run1.Key.String() {
		t.Errorf("parents of RUN b = %v, want [%s]", got, run1.Key)
	}
	if got := cache.RecordParents(plan, run1); len(got) != 1 || got[0] != plan.Stages[0].BaseKey.String() {
		t.Errorf("parents of RUN a = %v, want the base key", got)
	}
	rec := cache.NewRecord(plan, run2, cache.SnapshotRef{ID: "l2"}, "", 5, "app")
	if rec.Key != run2.Key.String() || rec.Text != "RUN b" || rec.Source.Start.Line != 4 || digest.FromBytes(rec.Preimage).String() != rec.Key {
		t.Errorf("NewRecord = %+v", rec)
	}
	ref := cache.NewRef(plan, "app", "t1")
	if len(ref.Keys) != 2 || ref.Key != plan.FinalKey().String() {
		t.Errorf("NewRef = %+v", ref)
	}
}

// Explain reads the bases the executor stored, so an offline compile
// gets the same keys as the build.
func TestBaseOptionsFromStore(t *testing.T) {
	s := cache.NewMemStore()
	d := digest.FromString("rootfs")
	_ = s.PutBase(bg, cache.Base{Agent: "a", Template: "minimal", Digest: d.String(), Env: map[string]string{"PATH": "/bin"}})
	var o compiler.Options
	if err := cache.BaseOptions(bg, s, &o); err != nil {
		t.Fatal(err)
	}
	if got, err := o.ResolveBase("minimal"); err != nil || got != d {
		t.Errorf("ResolveBase(minimal) = %v, %v", got, err)
	}
	if _, err := o.ResolveBase("debian"); err == nil {
		t.Error("an unknown template resolved")
	}
	if o.BaseEnvs["minimal"]["PATH"] != "/bin" {
		t.Errorf("BaseEnvs = %v", o.BaseEnvs)
	}
}
