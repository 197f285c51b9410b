package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// downOnceRunner fails the first attempt of every build as if its agent
// stopped answering, then delegates.
type downOnceRunner struct {
	*fakeRunner
	mu   sync.Mutex
	seen map[string]bool
}

func (r *downOnceRunner) Run(ctx context.Context, job *Job, ev Events) (*Result, error) {
	r.mu.Lock()
	first := !r.seen[job.Build.Id]
	r.seen[job.Build.Id] = true
	r.mu.Unlock()
	if first {
		ev.Placed("agent-a", "sb-1")
		return nil, &HostDownError{Host: "agent-a", Err: errors.New("connection refused")}
	}
	return r.fakeRunner.Run(ctx, job, ev)
}

func TestHostDownRequeuesInsteadOfFailing(t *testing.T) {
	r := &downOnceRunner{fakeRunner: newFakeRunner(), seen: map[string]bool{}}
	ts := startServer(t, t.TempDir(), nil, r, Config{Workers: 2})
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, ts.create(t, "fo", "RUN echo a").Id)
	}
	for _, id := range ids {
		b := ts.waitStatus(t, id, StatusSuccess)
		if b.Attempts != 2 || b.Host != "fake-agent" || b.Error != "" {
			t.Errorf("failed-over build: attempts %d host %q error %q", b.Attempts, b.Host, b.Error)
		}
	}
}

// TestJSONOverHTTP1 speaks the API as a plain JSON client would (curl).
func TestJSONOverHTTP1(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil, newFakeRunner(), Config{})
	body := `{"name":"js","recipe":["RUN echo hi"],"buildArgs":{"A":"1"}}`
	req, _ := http.NewRequest("POST", ts.url+"/wrenn.build.v1.BuildService/CreateBuild", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.ProtoMajor != 1 {
		t.Fatalf("status %d proto %s: %s", resp.StatusCode, resp.Proto, b)
	}
	var out struct {
		Build struct {
			ID         string `json:"id"`
			Status     string `json:"status"`
			TotalSteps int    `json:"totalSteps"`
		} `json:"build"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Build.Status != "pending" || out.Build.TotalSteps != 8 || !strings.HasPrefix(out.Build.ID, "bld-") {
		t.Fatalf("response %s (%v)", b, err)
	}
	ts.waitStatus(t, out.Build.ID, StatusSuccess)

	// No token: 401 before any handler runs.
	req, _ = http.NewRequest("POST", ts.url+"/wrenn.build.v1.BuildService/ListBuilds", bytes.NewReader([]byte(`{}`)))
	req.Header.Set("Content-Type", "application/json")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: status %d", resp2.StatusCode)
	}
}
