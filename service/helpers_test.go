package service

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
	"wrenn.dev/wrenn/proto/wrenn/build/v1/buildv1connect"
)

// fakeRunner plays a build's steps without an agent. A recipe line
// "RUN false" fails its step; "RUN sleep" blocks until the build is
// cancelled; while gate is non-nil every build waits on it first.
type fakeRunner struct {
	mu      sync.Mutex
	gate    chan struct{}
	started chan string
	runs    map[string]int
	host    string // the agent it says it placed builds on; "" is fake-agent
}

func newFakeRunner() *fakeRunner {
	return &fakeRunner{started: make(chan string, 1000), runs: map[string]int{}}
}

func (r *fakeRunner) Run(ctx context.Context, job *Job, ev Events) (*Result, error) {
	r.mu.Lock()
	r.runs[job.Build.Id]++
	gate := r.gate
	r.mu.Unlock()
	r.started <- job.Build.Id
	host := r.host
	if host == "" {
		host = "fake-agent"
	}
	ev.Placed(host, "sb-"+job.Build.Id)
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	for i, line := range job.Build.Recipe {
		step := i + 1
		ev.StepStart(step, "recipe", line, false)
		if strings.HasPrefix(line, "RUN sleep") {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		if line == "RUN false" {
			ev.Output(step, "stderr", []byte("boom\n"))
			ev.StepEnd(&buildv1.LogEntry{Step: int32(step), Phase: "recipe", Cmd: line, Stderr: "boom\n", Exit: 1})
			return nil, &StepError{Phase: "recipe", Step: step, Reason: "boom\n"}
		}
		ev.Output(step, "stdout", []byte("out "+line+"\n"))
		ev.StepEnd(&buildv1.LogEntry{Step: int32(step), Phase: "recipe", Cmd: line, Stdout: "out " + line + "\n", Ok: true})
	}
	return &Result{TemplateID: "tpl-" + job.Build.Id, TemplateType: "snapshot", DefaultUser: "root", SizeBytes: 42}, nil
}

func (r *fakeRunner) runCount(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[id]
}

type testServer struct {
	dir    string
	url    string
	store  *Store
	svc    *Service
	client buildv1connect.BuildServiceClient
	stop   func()
}

// startServer runs a Service over a real loopback connect server.
func startServer(t testing.TB, dir string, q func(*Store) Queue, runner Runner, cfg Config) *testServer {
	t.Helper()
	var st *Store
	if cfg.Store == nil {
		var err error
		if st, err = OpenStore(dir); err != nil {
			t.Fatal(err)
		}
		cfg.Store = st
	}
	cfg.Runner = runner
	if q == nil {
		bq, err := NewBadgerQueue(st)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Queue = bq
	} else {
		cfg.Queue = q(st)
	}
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	cfg.Logf = t.Logf
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	svc.Start(ctx)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(svc.Handler("secret"))
	go srv.Serve(ln)
	ts := &testServer{dir: dir, url: "http://" + ln.Addr().String(), store: st, svc: svc, client: NewClient("http://"+ln.Addr().String(), "secret")}
	var once sync.Once
	ts.stop = func() {
		once.Do(func() {
			cancel()
			cfg.Queue.Close()
			svc.Wait()
			srv.Close()
			if st != nil {
				st.Close()
			}
		})
	}
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) create(t testing.TB, name string, recipe ...string) *buildv1.Build {
	t.Helper()
	resp, err := ts.client.CreateBuild(context.Background(), connect.NewRequest(&buildv1.CreateBuildRequest{Name: name, Recipe: recipe}))
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return resp.Msg.Build
}

func (ts *testServer) get(t testing.TB, id string) *buildv1.Build {
	t.Helper()
	resp, err := ts.client.GetBuild(context.Background(), connect.NewRequest(&buildv1.GetBuildRequest{Id: id}))
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return resp.Msg.Build
}

// waitStatus polls until the build has status want.
func (ts *testServer) waitStatus(t testing.TB, id, want string) *buildv1.Build {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b := ts.get(t, id)
		if b.Status == want {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("build %s: status %s, want %s (error %q)", id, b.Status, want, b.Error)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitStarted(t *testing.T, r *fakeRunner, id string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case got := <-r.started:
			if got == id {
				return
			}
		case <-timeout:
			t.Fatalf("build %s never started", id)
		}
	}
}

func connectCode(err error) connect.Code {
	var cerr *connect.Error
	if errors.As(err, &cerr) {
		return cerr.Code()
	}
	return connect.CodeUnknown
}
