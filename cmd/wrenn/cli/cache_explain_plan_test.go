package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
)

// astFile builds a one-stage Wrennfile AST of RUN and ENV lines without
// the parser, one instruction per line.
func astFile(base string, lines ...string) *lang.File {
	f := &lang.File{Name: "Wrennfile"}
	st := &lang.Stage{Base: base}
	for i, l := range lines {
		r := lang.Range{File: "Wrennfile", Start: lang.Pos{Line: i + 1, Column: 1}, End: lang.Pos{Line: i + 1, Column: len(l) + 1}}
		kw, rest, _ := strings.Cut(l, " ")
		switch kw {
		case "RUN":
			st.Instructions = append(st.Instructions, &lang.RunInstr{InstrNode: lang.InstrNode{Kind: lang.KindRun, Keyword: kw, Range: r}, Cmd: lang.Shell{Text: rest, Range: r}})
		case "ENV":
			k, v, _ := strings.Cut(rest, "=")
			st.Instructions = append(st.Instructions, &lang.EnvInstr{InstrNode: lang.InstrNode{Kind: lang.KindEnv, Keyword: kw, Range: r}, Key: lang.Word{Value: k, Range: r}, Value: lang.Word{Value: v, Range: r}})
		}
	}
	f.Stages = []*lang.Stage{st}
	return f
}

func TestExplainPlanEnvAndUnknownBase(t *testing.T) {
	ctx := context.Background()
	s := cache.NewMemStore()
	if err := s.PutBase(ctx, cache.Base{Agent: "a", Template: "minimal", Digest: digest.FromString("rootfs").String(), Env: compiler.FallbackEnv()}); err != nil {
		t.Fatal(err)
	}
	compile := func(f *lang.File) (*compiler.Plan, lang.Diagnostics) {
		opts := compiler.Options{SkipPrePost: true}
		if err := cache.BaseOptions(ctx, s, &opts); err != nil {
			t.Fatal(err)
		}
		return compiler.Compile(f, opts)
	}
	before, diags := compile(astFile("", "RUN apt-get update", "ENV APP_HOME=/srv/app", "RUN echo $APP_HOME"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, st := range before.Steps {
		if st.MakesLayer {
			if err := s.Put(ctx, cache.NewRecord(before, st, cache.SnapshotRef{Agent: "a", ID: "l-" + st.Short()}, "", 1, "app")); err != nil {
				t.Fatal(err)
			}
		}
	}
	after, cd := compile(astFile("", "RUN apt-get update", "ENV APP_HOME=/opt/app", "RUN echo $APP_HOME"))
	ex, errs, err := explainPlan(ctx, s, after, cd, cache.ExplainOptions{})
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	if ex.Message != "line 2 ENV APP_HOME changed from /srv/app to /opt/app" || ex.Cached != 1 || ex.FirstMiss.Line != 3 {
		t.Errorf("explain: %+v", ex)
	}

	// A base no build with this cache used: every step would run.
	other, cd := compile(astFile("debian", "RUN apt-get update"))
	ex, errs, err = explainPlan(ctx, s, other, cd, cache.ExplainOptions{})
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	if ex.Reason != "base-unknown" || !strings.Contains(ex.Message, `base template "debian"`) || !strings.HasSuffix(ex.Message, ": every step would run") {
		t.Errorf("unknown base: %+v", ex)
	}
}
