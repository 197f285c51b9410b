package service

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/lang"
	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

func TestManyBuildsOnTwoWorkers(t *testing.T) {
	r := newFakeRunner()
	ts := startServer(t, t.TempDir(), nil, r, Config{Workers: 2})
	var ids []string
	for i := 0; i < 20; i++ {
		b := ts.create(t, fmt.Sprintf("tpl-%d", i%3), "RUN echo a", fmt.Sprintf("RUN echo %d", i))
		if b.Status != StatusPending || b.TotalSteps != 2+7 || b.BaseTemplate != "minimal" || b.Vcpus != 1 || b.MemoryMb != 512 {
			t.Fatalf("created record = %v", b)
		}
		ids = append(ids, b.Id)
	}
	for _, id := range ids {
		b := ts.waitStatus(t, id, StatusSuccess)
		if len(b.Logs) != 2 || !b.Logs[1].Ok || b.TemplateId != "tpl-"+id || b.Host != "fake-agent" || b.SandboxId != "sb-"+id {
			t.Errorf("finished record = %v", b)
		}
		if b.StartedAt == nil || b.CompletedAt == nil || b.CurrentStep != b.TotalSteps {
			t.Errorf("times/steps not set: %v", b)
		}
		if n := r.runCount(id); n != 1 {
			t.Errorf("build %s ran %d times", id, n)
		}
	}
	// Filters and paging.
	resp, err := ts.client.ListBuilds(context.Background(), connect.NewRequest(&buildv1.ListBuildsRequest{Name: "tpl-1", Status: StatusSuccess, PageSize: 4}))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Msg.Builds) != 4 || resp.Msg.NextPageToken == "" {
		t.Fatalf("page 1: %d builds, token %q", len(resp.Msg.Builds), resp.Msg.NextPageToken)
	}
	resp2, err := ts.client.ListBuilds(context.Background(), connect.NewRequest(&buildv1.ListBuildsRequest{Name: "tpl-1", PageSize: 4, PageToken: resp.Msg.NextPageToken}))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(resp.Msg.Builds) + len(resp2.Msg.Builds); got != 7 || resp2.Msg.NextPageToken != "" {
		t.Fatalf("tpl-1 builds over two pages = %d (token %q), want 7", got, resp2.Msg.NextPageToken)
	}
	seen := map[string]bool{}
	for _, b := range append(resp.Msg.Builds, resp2.Msg.Builds...) {
		if b.Name != "tpl-1" || seen[b.Id] {
			t.Errorf("unexpected or repeated build %s %s", b.Id, b.Name)
		}
		seen[b.Id] = true
	}
}

func TestInvalidRecipeRejectedAtCreate(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil, newFakeRunner(), Config{})
	_, err := ts.client.CreateBuild(context.Background(), connect.NewRequest(&buildv1.CreateBuildRequest{
		Name: "bad", Recipe: []string{"RUN echo ok", "FROBNICATE x"},
	}))
	if connectCode(err) != connect.CodeInvalidArgument {
		t.Fatalf("err = %v, want invalid_argument", err)
	}
	if !strings.Contains(err.Error(), `recipe:2:1: error: unknown instruction "FROBNICATE"`) {
		t.Errorf("message = %q", err)
	}
	diags := DiagnosticsFromError(err)
	if len(diags) == 0 || diags[0].Range.Start.Line != 2 || diags[0].Range.Start.Column != 1 || diags[0].Code != "unknown-instruction" {
		t.Fatalf("diagnostics detail = %+v", diags)
	}
	list, err := ts.client.ListBuilds(context.Background(), connect.NewRequest(&buildv1.ListBuildsRequest{}))
	if err != nil || len(list.Msg.Builds) != 0 {
		t.Fatalf("a rejected build was stored: %v %v", list, err)
	}
	for _, tc := range []struct {
		req  *buildv1.CreateBuildRequest
		want string
	}{
		{&buildv1.CreateBuildRequest{Recipe: []string{"RUN true"}}, "name is required"},
		{&buildv1.CreateBuildRequest{Name: "x"}, "recipe or wrennfile is required"},
		{&buildv1.CreateBuildRequest{Name: "x", Recipe: []string{"RUN true"}, Wrennfile: "RUN true\n"}, "not both"},
	} {
		_, err := ts.client.CreateBuild(context.Background(), connect.NewRequest(tc.req))
		if connectCode(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.req, err, tc.want)
		}
	}
}

func TestWrennfileBuild(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil, newFakeRunner(), Config{})
	resp, err := ts.client.CreateBuild(context.Background(), connect.NewRequest(&buildv1.CreateBuildRequest{
		Name: "wf", Wrennfile: "RUN echo one\nRUN echo two\n", SkipPrePost: true,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Msg.Build.TotalSteps != 2 {
		t.Errorf("total steps with skip_pre_post = %d, want 2", resp.Msg.Build.TotalSteps)
	}
	ts.waitStatus(t, resp.Msg.Build.Id, StatusSuccess)
}

func TestFailedStepUsesSeedErrorForm(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil, newFakeRunner(), Config{})
	b := ts.create(t, "f", "RUN echo ok", "RUN false", "RUN echo never")
	b = ts.waitStatus(t, b.Id, StatusFailed)
	if b.Error != "recipe step 2 failed: boom\n" {
		t.Errorf("error = %q", b.Error)
	}
	if len(b.Logs) != 2 || b.Logs[1].Exit != 1 || b.Logs[1].Ok {
		t.Errorf("logs = %v", b.Logs)
	}
}

func TestCancel(t *testing.T) {
	r := newFakeRunner()
	ts := startServer(t, t.TempDir(), nil, r, Config{Workers: 1})
	running := ts.create(t, "run", "RUN echo a", "RUN sleep 100")
	waitStarted(t, r, running.Id)
	pending := ts.create(t, "pend", "RUN echo a")
	ctx := context.Background()

	// Pending: cancelled at once, never started.
	resp, err := ts.client.CancelBuild(ctx, connect.NewRequest(&buildv1.CancelBuildRequest{Id: pending.Id}))
	if err != nil || resp.Msg.Build.Status != StatusCancelled {
		t.Fatalf("cancel pending: %v %v", resp, err)
	}
	// Running: the runner's context ends, status cancelled, not failed.
	ts.waitStatus(t, running.Id, StatusRunning)
	if _, err := ts.client.CancelBuild(ctx, connect.NewRequest(&buildv1.CancelBuildRequest{Id: running.Id})); err != nil {
		t.Fatal(err)
	}
	b := ts.waitStatus(t, running.Id, StatusCancelled)
	if b.Error != "" {
		t.Errorf("cancelled build has error %q", b.Error)
	}
	// The worker moves on to later builds and skips the cancelled one.
	next := ts.create(t, "next", "RUN echo b")
	ts.waitStatus(t, next.Id, StatusSuccess)
	if n := r.runCount(pending.Id); n != 0 {
		t.Errorf("cancelled pending build ran %d times", n)
	}
	if got := ts.get(t, running.Id).Status; got != StatusCancelled {
		t.Errorf("cancelled build became %s", got)
	}
	// Finished: an error naming the status.
	_, err = ts.client.CancelBuild(ctx, connect.NewRequest(&buildv1.CancelBuildRequest{Id: next.Id}))
	if connectCode(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "build is already success") {
		t.Errorf("cancel finished: %v", err)
	}
	_, err = ts.client.CancelBuild(ctx, connect.NewRequest(&buildv1.CancelBuildRequest{Id: "bld-nope"}))
	if connectCode(err) != connect.CodeNotFound {
		t.Errorf("cancel unknown: %v", err)
	}
}

func TestAuthRequired(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil, newFakeRunner(), Config{})
	bad := NewClient(ts.url, "wrong")
	_, err := bad.ListBuilds(context.Background(), connect.NewRequest(&buildv1.ListBuildsRequest{}))
	if connectCode(err) != connect.CodeUnauthenticated {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestHealthcheckParameterBecomesHealthcheck(t *testing.T) {
	r := newFakeRunner()
	ts := startServer(t, t.TempDir(), nil, &hcRunner{r}, Config{})
	for _, tc := range []struct {
		name      string
		req       *buildv1.CreateBuildRequest
		wantID    string
		wantError string
	}{
		{name: "plain", req: &buildv1.CreateBuildRequest{Name: "hc", Recipe: []string{"RUN echo a"}, Healthcheck: "curl -f localhost:8080"},
			wantID: "hc=curl -f localhost:8080 every 3s retries 0"},
		// the seed's syntax: flags before the command
		{name: "flags", req: &buildv1.CreateBuildRequest{Name: "hc2", Recipe: []string{"RUN echo a"}, Healthcheck: "--interval=1s --retries=3 curl -f localhost:8080"},
			wantID: "hc=curl -f localhost:8080 every 1s retries 3"},
		// the parameter overrides the file's own HEALTHCHECK
		{name: "override", req: &buildv1.CreateBuildRequest{Name: "hc3", Wrennfile: "FROM minimal\nSTART sleep 100\nHEALTHCHECK false\n", Healthcheck: "true"},
			wantID: "hc=true every 3s retries 0"},
		{name: "invalid", req: &buildv1.CreateBuildRequest{Name: "hc4", Recipe: []string{"RUN echo a"}, Healthcheck: "--interval=x true"},
			wantError: "invalid duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := ts.client.CreateBuild(context.Background(), connect.NewRequest(tc.req))
			if tc.wantError != "" {
				if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tc.wantError) {
					t.Fatalf("err = %v, want InvalidArgument with %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b := ts.waitStatus(t, resp.Msg.Build.Id, StatusSuccess)
			if b.TemplateId != tc.wantID {
				t.Errorf("runner saw %q, want %q", b.TemplateId, tc.wantID)
			}
		})
	}
}

// hcRunner reports the healthcheck it was given as the template id.
type hcRunner struct{ *fakeRunner }

func (r *hcRunner) Run(ctx context.Context, job *Job, ev Events) (*Result, error) {
	res, err := r.fakeRunner.Run(ctx, job, ev)
	if res != nil && len(job.File.Stages) > 0 {
		in := job.File.Stages[len(job.File.Stages)-1].Instructions
		if hc, ok := in[len(in)-1].(*lang.HealthcheckInstr); ok {
			res.TemplateID = fmt.Sprintf("hc=%s every %s retries %d", hc.Cmd.Text, hc.Interval, hc.Retries)
		}
	}
	return res, err
}
