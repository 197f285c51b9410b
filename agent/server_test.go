package agent_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/agent/agenttest"
	pb "wrenn.dev/wrenn/proto/hostagent/v1"
	"wrenn.dev/wrenn/proto/hostagent/v1/hostagentv1connect"
	agentpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
	"wrenn.dev/wrenn/proto/wrenn/agent/v1/agentv1connect"
)

// buildAgentClient is the seed's build worker's view of the agent; the
// generated client and agent.Client must keep satisfying it.
type buildAgentClient interface {
	CreateSandbox(context.Context, *connect.Request[pb.CreateSandboxRequest]) (*connect.Response[pb.CreateSandboxResponse], error)
	DestroySandbox(context.Context, *connect.Request[pb.DestroySandboxRequest]) (*connect.Response[pb.DestroySandboxResponse], error)
	Exec(context.Context, *connect.Request[pb.ExecRequest]) (*connect.Response[pb.ExecResponse], error)
	WriteFile(context.Context, *connect.Request[pb.WriteFileRequest]) (*connect.Response[pb.WriteFileResponse], error)
	CreateSnapshot(context.Context, *connect.Request[pb.CreateSnapshotRequest]) (*connect.Response[pb.CreateSnapshotResponse], error)
	FlattenRootfs(context.Context, *connect.Request[pb.FlattenRootfsRequest]) (*connect.Response[pb.FlattenRootfsResponse], error)
}

// layerClient is the subset of LayerService an executor uses.
type layerClient interface {
	Info(context.Context, *connect.Request[agentpb.InfoRequest]) (*connect.Response[agentpb.InfoResponse], error)
	CommitLayer(context.Context, *connect.Request[agentpb.CommitLayerRequest]) (*connect.Response[agentpb.CommitLayerResponse], error)
	CreateSandboxFromLayer(context.Context, *connect.Request[agentpb.CreateSandboxFromLayerRequest]) (*connect.Response[agentpb.CreateSandboxFromLayerResponse], error)
	GetLayer(context.Context, *connect.Request[agentpb.GetLayerRequest]) (*connect.Response[agentpb.GetLayerResponse], error)
}

var (
	_ buildAgentClient = hostagentv1connect.HostAgentServiceClient(nil)
	_ buildAgentClient = (*agent.Client)(nil)
	_ layerClient      = agentv1connect.LayerServiceClient(nil)
	_ layerClient      = (*agent.Client)(nil)
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func req[T any](m *T) *connect.Request[T] { return connect.NewRequest(m) }

func create(t *testing.T, c *agent.Client, id string) {
	t.Helper()
	resp, err := c.CreateSandbox(ctx(t), req(&pb.CreateSandboxRequest{SandboxId: id, Template: "minimal", Vcpus: 1, MemoryMb: 256}))
	if err != nil {
		t.Fatalf("CreateSandbox: %v", err)
	}
	if resp.Msg.SandboxId != id || resp.Msg.Status != "running" {
		t.Fatalf("CreateSandbox = %v", resp.Msg)
	}
}

// transports covers each protocol, codec and HTTP version the server must
// speak, over both kinds of socket.
var transports = []struct {
	name string
	cfg  agenttest.Config
}{
	{"unix-connect-binary-h2c", agenttest.Config{}},
	{"tcp-connect-binary-h2c", agenttest.Config{Network: "tcp"}},
	{"tcp-connect-json-http1", agenttest.Config{Network: "tcp", Dial: []agent.DialOption{agent.WithJSON(), agent.WithHTTP1()}}},
	{"unix-connect-json-h2c", agenttest.Config{Dial: []agent.DialOption{agent.WithJSON()}}},
	{"tcp-grpc-h2c", agenttest.Config{Network: "tcp", Dial: []agent.DialOption{agent.WithGRPC()}}},
	{"unix-grpcweb-json-http1", agenttest.Config{Dial: []agent.DialOption{agent.WithGRPCWeb(), agent.WithJSON(), agent.WithHTTP1()}}},
}

func TestTransports(t *testing.T) {
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			fake := agenttest.NewFake()
			c := agenttest.Start(t, fake, tc.cfg).Client
			create(t, c, "sb1")
			if _, err := c.WriteFile(ctx(t), req(&pb.WriteFileRequest{SandboxId: "sb1", Path: "/etc/motd", Content: []byte("hi\x00there")})); err != nil {
				t.Fatal(err)
			}
			rf, err := c.ReadFile(ctx(t), req(&pb.ReadFileRequest{SandboxId: "sb1", Path: "/etc/motd"}))
			if err != nil || string(rf.Msg.Content) != "hi\x00there" {
				t.Fatalf("ReadFile = %q, %v", rf.Msg.GetContent(), err)
			}
			ex, err := c.Exec(ctx(t), req(&pb.ExecRequest{SandboxId: "sb1", Cmd: "echo", Args: []string{"a", "b"}}))
			if err != nil || string(ex.Msg.Stdout) != "a b\n" || ex.Msg.ExitCode != 0 {
				t.Fatalf("Exec = %v, %v", ex.Msg, err)
			}
			events := streamEvents(t, c, &pb.ExecStreamRequest{SandboxId: "sb1", Cmd: "stderr", Args: []string{"oops"}})
			if got := summarize(events); got != "start;stderr:oops\n;end:0" {
				t.Fatalf("ExecStream events = %s", got)
			}
			if _, err := c.Exec(ctx(t), req(&pb.ExecRequest{SandboxId: "nope", Cmd: "true"})); connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("Exec on unknown sandbox: %v, want NotFound", err)
			}
			if _, err := c.DestroySandbox(ctx(t), req(&pb.DestroySandboxRequest{SandboxId: "sb1"})); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func streamEvents(t *testing.T, c *agent.Client, m *pb.ExecStreamRequest) []*pb.ExecStreamResponse {
	t.Helper()
	s, err := c.ExecStream(ctx(t), req(m))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []*pb.ExecStreamResponse
	for s.Receive() {
		out = append(out, s.Msg())
	}
	if err := s.Err(); err != nil {
		t.Fatalf("ExecStream: %v", err)
	}
	return out
}

func summarize(events []*pb.ExecStreamResponse) string {
	var parts []string
	for _, e := range events {
		switch ev := e.Event.(type) {
		case *pb.ExecStreamResponse_Start:
			parts = append(parts, "start")
		case *pb.ExecStreamResponse_Data:
			if ev.Data.GetStdout() != nil {
				parts = append(parts, "stdout:"+string(ev.Data.GetStdout()))
			} else {
				parts = append(parts, "stderr:"+string(ev.Data.GetStderr()))
			}
		case *pb.ExecStreamResponse_End:
			s := "end:" + strconv.Itoa(int(ev.End.ExitCode))
			if ev.End.Error != "" {
				s += ":" + ev.End.Error
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ";")
}

// TestRawJSONOverHTTP1 speaks the connect protocol by hand, as curl would,
// to show the server takes JSON over plain HTTP/1.1 with wire field names.
func TestRawJSONOverHTTP1(t *testing.T) {
	fake := agenttest.NewFake()
	srv := agenttest.Start(t, fake, agenttest.Config{Network: "tcp"})
	create(t, srv.Client, "sb1")
	body := `{"sandboxId":"sb1","cmd":"echo","args":["hi"],"timeoutSec":7}`
	resp, err := http.Post(srv.URL+"/hostagent.v1.HostAgentService/Exec", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.ProtoMajor != 1 {
		t.Fatalf("status %d proto %s: %s", resp.StatusCode, resp.Proto, b)
	}
	// "hi\n" base64-encoded; exit_code 0 is omitted in proto3 JSON.
	if got := strings.TrimSpace(string(b)); got != `{"stdout":"aGkK"}` {
		t.Fatalf("body = %s", got)
	}
	if execs := fake.Execs(); execs[len(execs)-1].Timeout != 7*time.Second {
		t.Fatalf("timeout_sec reached the backend as %v", execs[len(execs)-1].Timeout)
	}
}

// TestH2C checks that a client speaking only cleartext HTTP/2 (prior
// knowledge, as gRPC clients do) is served over HTTP/2.
func TestH2C(t *testing.T) {
	srv := agenttest.Start(t, agenttest.NewFake(), agenttest.Config{Network: "tcp"})
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{Protocols: &p}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(srv.URL+"/hostagent.v1.HostAgentService/ListSandboxes", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("status %d over %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
}

func TestErrorMapping(t *testing.T) {
	fake := agenttest.NewFake()
	c := agenttest.Start(t, fake, agenttest.Config{}).Client
	create(t, c, "sb1")
	commit, err := c.CommitLayer(ctx(t), req(&agentpb.CommitLayerRequest{SandboxId: "sb1"}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		call    func() error
		code    connect.Code
		message string // a substring the message must hold
	}{
		{"unknown sandbox", func() error {
			_, err := c.ReadFile(ctx(t), req(&pb.ReadFileRequest{SandboxId: "ghost", Path: "/x"}))
			return err
		}, connect.CodeNotFound, "sandbox ghost"},
		{"path escape write", func() error {
			_, err := c.WriteFile(ctx(t), req(&pb.WriteFileRequest{SandboxId: "sb1", Path: "/tmp/../../etc/shadow", Content: []byte("x")}))
			return err
		}, connect.CodeInvalidArgument, `"/tmp/../../etc/shadow": path escapes the sandbox root`},
		{"path escape read", func() error {
			_, err := c.ReadFile(ctx(t), req(&pb.ReadFileRequest{SandboxId: "sb1", Path: "/../etc/passwd"}))
			return err
		}, connect.CodeInvalidArgument, `"/../etc/passwd"`},
		{"relative path", func() error {
			_, err := c.ReadFile(ctx(t), req(&pb.ReadFileRequest{SandboxId: "sb1", Path: "etc/passwd"}))
			return err
		}, connect.CodeInvalidArgument, "not absolute"},
		{"layer in use", func() error {
			_, err := c.DeleteLayer(ctx(t), req(&agentpb.DeleteLayerRequest{LayerId: commit.Msg.Layer.Id}))
			return err
		}, connect.CodeFailedPrecondition, "sandbox sb1 runs on it"},
		{"bad sandbox id", func() error {
			_, err := c.Exec(ctx(t), req(&pb.ExecRequest{SandboxId: "../x", Cmd: "true"}))
			return err
		}, connect.CodeInvalidArgument, `sandbox_id "../x" has '/'`},
		{"empty cmd", func() error {
			_, err := c.Exec(ctx(t), req(&pb.ExecRequest{SandboxId: "sb1"}))
			return err
		}, connect.CodeInvalidArgument, "cmd is required"},
		{"negative vcpus", func() error {
			_, err := c.CreateSandbox(ctx(t), req(&pb.CreateSandboxRequest{Vcpus: -1}))
			return err
		}, connect.CodeInvalidArgument, "vcpus is negative"},
		{"snapshot without name", func() error {
			_, err := c.CreateSnapshot(ctx(t), req(&pb.CreateSnapshotRequest{SandboxId: "sb1"}))
			return err
		}, connect.CodeInvalidArgument, "name or template_id is required"},
		{"unknown template", func() error {
			_, err := c.CreateSandbox(ctx(t), req(&pb.CreateSandboxRequest{Template: "nonesuch"}))
			return err
		}, connect.CodeNotFound, `template "nonesuch"`},
		{"unknown layer", func() error {
			_, err := c.GetLayer(ctx(t), req(&agentpb.GetLayerRequest{LayerId: "layer-404"}))
			return err
		}, connect.CodeNotFound, "layer layer-404"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if connect.CodeOf(err) != tc.code {
				t.Fatalf("got %v, want code %v", err, tc.code)
			}
			var ce *connect.Error
			if !errors.As(err, &ce) || !strings.Contains(ce.Message(), tc.message) {
				t.Fatalf("message %q does not contain %q", ce.Message(), tc.message)
			}
		})
	}
	if !agent.IsNotFound(tests[0].call()) || !agent.IsInUse(tests[4].call()) {
		t.Fatal("IsNotFound/IsInUse do not recognise their codes")
	}
}

// unimplementedBackend is a backend without layer support, as a production
// agent's would be behind this server.
type unimplementedBackend struct{ *agenttest.Fake }

func (unimplementedBackend) CommitLayer(context.Context, string) (agent.LayerInfo, error) {
	return agent.LayerInfo{}, agent.ErrUnimplemented
}

func (unimplementedBackend) Capabilities() []string { return []string{"snapshot"} }

func TestUnimplemented(t *testing.T) {
	c := agenttest.Start(t, unimplementedBackend{agenttest.NewFake()}, agenttest.Config{}).Client
	create(t, c, "sb1")
	_, err := c.CommitLayer(ctx(t), req(&agentpb.CommitLayerRequest{SandboxId: "sb1"}))
	if !agent.IsUnimplemented(err) {
		t.Fatalf("CommitLayer on a backend without layers: %v, want Unimplemented", err)
	}
	info, err := c.Info(ctx(t), req(&agentpb.InfoRequest{}))
	if err != nil || strings.Join(info.Msg.Capabilities, ",") != "snapshot" {
		t.Fatalf("Info capabilities = %v, %v", info.Msg.GetCapabilities(), err)
	}

	hostOnly := agenttest.Start(t, agenttest.NewFake(), agenttest.Config{Options: []agent.Option{agent.WithoutLayerService()}}).Client
	create(t, hostOnly, "sb2")
	if _, err := hostOnly.CommitLayer(ctx(t), req(&agentpb.CommitLayerRequest{SandboxId: "sb2"})); !agent.IsUnimplemented(err) {
		t.Fatalf("CommitLayer without LayerService: %v, want Unimplemented", err)
	}
	if _, err := hostOnly.Info(ctx(t), req(&agentpb.InfoRequest{})); !agent.IsUnimplemented(err) {
		t.Fatalf("Info without LayerService: %v, want Unimplemented", err)
	}
}

func TestAuth(t *testing.T) {
	fake := agenttest.NewFake()
	srv := agenttest.Start(t, fake, agenttest.Config{Network: "tcp", Token: "s3cret"})
	create(t, srv.Client, "sb1") // the right token works

	for _, tok := range []string{"", "wrong", "s3cret-but-longer"} {
		c, err := agent.Dial(srv.URL, tok)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Exec(ctx(t), req(&pb.ExecRequest{SandboxId: "sb1", Cmd: "true"}))
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("token %q: unary call got %v, want Unauthenticated", tok, err)
		}
		s, err := c.ExecStream(ctx(t), req(&pb.ExecStreamRequest{SandboxId: "sb1", Cmd: "true"}))
		if err == nil {
			for s.Receive() {
				t.Errorf("token %q: ExecStream delivered an event", tok)
			}
			err = s.Err()
		}
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("token %q: server stream got %v, want Unauthenticated", tok, err)
		}
		imp := c.ImportLayer(ctx(t))
		_ = imp.Send(&agentpb.ImportLayerRequest{Msg: &agentpb.ImportLayerRequest_Header{Header: &agentpb.ImportLayerHeader{Digest: "sha256:00"}}})
		if _, err := imp.CloseAndReceive(); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("token %q: client stream got %v, want Unauthenticated", tok, err)
		}
		if _, err := c.Info(ctx(t), req(&agentpb.InfoRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("token %q: Info got %v, want Unauthenticated", tok, err)
		}
	}
	if n := len(fake.Execs()); n != 0 {
		t.Fatalf("unauthenticated calls reached the backend %d times", n)
	}
	// A raw request with a lowercase scheme is still a bearer token.
	r, _ := http.NewRequest("POST", srv.URL+"/hostagent.v1.HostAgentService/ListSandboxes", strings.NewReader("{}"))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "bearer s3cret")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("lowercase bearer: status %d", resp.StatusCode)
	}
}

func TestExecTimeoutAndExitCodes(t *testing.T) {
	fake := agenttest.NewFake()
	c := agenttest.Start(t, fake, agenttest.Config{}).Client
	create(t, c, "sb1")
	for _, tc := range []struct {
		cmd  string
		args []string
		tmo  int32
		code int32
	}{
		{"true", nil, 0, 0},
		{"false", nil, 0, 1},
		{"exit", []string{"42"}, 0, 42},
		{"sleep", []string{"30"}, 1, 124},
		{"nonesuch", nil, 0, 127},
	} {
		resp, err := c.Exec(ctx(t), req(&pb.ExecRequest{SandboxId: "sb1", Cmd: tc.cmd, Args: tc.args, TimeoutSec: tc.tmo}))
		if err != nil || resp.Msg.ExitCode != tc.code {
			t.Errorf("%s %v: exit %d, %v; want %d", tc.cmd, tc.args, resp.Msg.GetExitCode(), err, tc.code)
		}
	}
}

func TestExecOutputBound(t *testing.T) {
	c := agenttest.Start(t, agenttest.NewFake(), agenttest.Config{Options: []agent.Option{agent.WithMaxExecOutputBytes(4)}}).Client
	create(t, c, "sb1")
	resp, err := c.Exec(ctx(t), req(&pb.ExecRequest{SandboxId: "sb1", Cmd: "echo", Args: []string{"hello", "world"}}))
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Msg.Stdout) != "hell" || resp.Header().Get("Wrenn-Stdout-Dropped") != "8" {
		t.Fatalf("stdout %q, dropped %q", resp.Msg.Stdout, resp.Header().Get("Wrenn-Stdout-Dropped"))
	}
}

// TestExecStreamIsLive checks that output reaches the client while the
// command still runs, and that cancelling the call cancels the command.
func TestExecStreamIsLive(t *testing.T) {
	fake := agenttest.NewFake()
	proceed := make(chan struct{})
	cancelled := make(chan error, 1)
	fake.ExecHook = func(ctx context.Context, _ string, _ agent.ExecSpec, stdout, stderr io.Writer) (int, error) {
		io.WriteString(stdout, "first")
		select {
		case <-proceed:
		case <-time.After(20 * time.Second):
			return 1, errors.New("the client never saw the first chunk")
		}
		io.WriteString(stderr, "second")
		<-ctx.Done() // runs until the client cancels
		cancelled <- ctx.Err()
		return 137, ctx.Err()
	}
	c := agenttest.Start(t, fake, agenttest.Config{}).Client
	create(t, c, "sb1")
	cctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	s, err := c.ExecStream(cctx, req(&pb.ExecStreamRequest{SandboxId: "sb1", Cmd: "anything"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for s.Receive() {
		got = append(got, summarize([]*pb.ExecStreamResponse{s.Msg()}))
		switch len(got) {
		case 2:
			close(proceed)
		case 3:
			cancel()
		}
	}
	if strings.Join(got, ";") != "start;stdout:first;stderr:second" {
		t.Fatalf("events = %v", got)
	}
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the command's context ended with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("cancelling the call did not cancel the command")
	}
}

func TestExecStreamEvents(t *testing.T) {
	fake := agenttest.NewFake()
	c := agenttest.Start(t, fake, agenttest.Config{}).Client
	create(t, c, "sb1")
	if got := summarize(streamEvents(t, c, &pb.ExecStreamRequest{SandboxId: "sb1", Cmd: "exit", Args: []string{"3"}})); got != "start;end:3" {
		t.Fatalf("exit 3: %s", got)
	}
	if got := summarize(streamEvents(t, c, &pb.ExecStreamRequest{SandboxId: "sb1", Cmd: "sleep", Args: []string{"30"}, TimeoutSec: 1})); got != "start;end:124" {
		t.Fatalf("timeout: %s", got)
	}
	events := streamEvents(t, c, &pb.ExecStreamRequest{SandboxId: "sb1", Cmd: "echo", Args: []string{"x"}})
	if pid := events[0].GetStart().GetPid(); pid == 0 {
		t.Fatalf("start event has no pid: %v", events[0])
	}
	// A failure after the start is reported in the end event.
	fake.ExecHook = func(context.Context, string, agent.ExecSpec, io.Writer, io.Writer) (int, error) {
		return 0, errors.New("runc exploded")
	}
	if got := summarize(streamEvents(t, c, &pb.ExecStreamRequest{SandboxId: "sb1", Cmd: "x"})); got != "start;end:-1:runc exploded" {
		t.Fatalf("failure: %s", got)
	}
	// A request rejected before the start fails the call with its code.
	s, err := c.ExecStream(ctx(t), req(&pb.ExecStreamRequest{SandboxId: "ghost", Cmd: "true"}))
	if err == nil {
		for s.Receive() {
		}
		err = s.Err()
	}
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("unknown sandbox: %v", err)
	}
}

func TestWriteFileLimit(t *testing.T) {
	c := agenttest.Start(t, agenttest.NewFake(), agenttest.Config{Options: []agent.Option{agent.WithMaxWriteFileBytes(10)}}).Client
	create(t, c, "sb1")
	if _, err := c.WriteFile(ctx(t), req(&pb.WriteFileRequest{SandboxId: "sb1", Path: "/ok", Content: make([]byte, 10)})); err != nil {
		t.Fatalf("10 bytes: %v", err)
	}
	_, err := c.WriteFile(ctx(t), req(&pb.WriteFileRequest{SandboxId: "sb1", Path: "/big", Content: make([]byte, 11)}))
	if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "/big: content is 11 bytes, more than the agent's limit of 10") {
		t.Fatalf("11 bytes: %v", err)
	}
	_, err = c.WriteFile(ctx(t), req(&pb.WriteFileRequest{SandboxId: "sb1", Path: "/huge", Content: make([]byte, 3<<20)}))
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("3 MiB: %v", err)
	}
}

func TestSnapshotLifecycle(t *testing.T) {
	fake := agenttest.NewFake()
	c := agenttest.Start(t, fake, agenttest.Config{}).Client
	create(t, c, "sb1")
	if _, err := c.WriteFile(ctx(t), req(&pb.WriteFileRequest{SandboxId: "sb1", Path: "/app", Content: []byte("v1")})); err != nil {
		t.Fatal(err)
	}
	snap, err := c.CreateSnapshot(ctx(t), req(&pb.CreateSnapshotRequest{SandboxId: "sb1", Name: "app", TeamId: "team", TemplateId: "tpl-1"}))
	if err != nil || snap.Msg.SizeBytes != int64(len("v1")+len("ID=fake\n")) {
		t.Fatalf("CreateSnapshot = %v, %v", snap.Msg, err)
	}
	if _, err := c.Exec(ctx(t), req(&pb.ExecRequest{SandboxId: "sb1", Cmd: "true"})); !agent.IsNotFound(err) {
		t.Fatalf("the snapshotted sandbox still runs: %v", err)
	}
	if _, err := c.CreateSandbox(ctx(t), req(&pb.CreateSandboxRequest{SandboxId: "sb2", TeamId: "team", TemplateId: "tpl-1", Vcpus: 2, MemoryMb: 512, DiskSizeMb: 5120, DefaultUser: "u", DefaultEnv: map[string]string{"A": "1"}})); err != nil {
		t.Fatal(err)
	}
	spec, _ := fake.Spec("sb2")
	if spec.VCPUs != 2 || spec.MemoryMB != 512 || spec.DiskSizeMB != 5120 || spec.TemplateID != "tpl-1" || spec.TeamID != "team" || spec.DefaultUser != "u" || spec.DefaultEnv["A"] != "1" {
		t.Fatalf("CreateSandbox fields reached the backend as %+v", spec)
	}
	rf, err := c.ReadFile(ctx(t), req(&pb.ReadFileRequest{SandboxId: "sb2", Path: "/app"}))
	if err != nil || string(rf.Msg.Content) != "v1" {
		t.Fatalf("resumed sandbox /app = %q, %v", rf.Msg.GetContent(), err)
	}
	flat, err := c.FlattenRootfs(ctx(t), req(&pb.FlattenRootfsRequest{SandboxId: "sb2", Name: "flat"}))
	if err != nil || flat.Msg.SizeBytes == 0 {
		t.Fatalf("FlattenRootfs = %v, %v", flat.Msg, err)
	}
	tpl, err := c.GetTemplate(ctx(t), req(&agentpb.GetTemplateRequest{Name: "flat"}))
	if err != nil || tpl.Msg.Template.Type != "snapshot" || !strings.HasPrefix(tpl.Msg.Template.Digest, "sha256:") {
		t.Fatalf("GetTemplate = %v, %v", tpl.Msg, err)
	}
	if _, err := c.DeleteSnapshot(ctx(t), req(&pb.DeleteSnapshotRequest{TeamId: "team", TemplateId: "tpl-1"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSandbox(ctx(t), req(&pb.CreateSandboxRequest{TemplateId: "tpl-1"})); !agent.IsNotFound(err) {
		t.Fatalf("deleted snapshot still resumes: %v", err)
	}
	list, err := c.ListTemplates(ctx(t), req(&agentpb.ListTemplatesRequest{}))
	if err != nil || len(list.Msg.Templates) != 2 {
		t.Fatalf("ListTemplates = %v, %v", list.Msg, err)
	}
}

func TestLayers(t *testing.T) {
	fake := agenttest.NewFake()
	c := agenttest.Start(t, fake, agenttest.Config{Options: []agent.Option{agent.WithAgentID("agent-7"), agent.WithVersion("v9")}}).Client
	create(t, c, "sb1")
	write := func(id, p, s string) {
		t.Helper()
		if _, err := c.WriteFile(ctx(t), req(&pb.WriteFileRequest{SandboxId: id, Path: p, Content: []byte(s)})); err != nil {
			t.Fatal(err)
		}
	}
	write("sb1", "/a", "one")
	l1, err := c.CommitLayer(ctx(t), req(&agentpb.CommitLayerRequest{SandboxId: "sb1"}))
	if err != nil {
		t.Fatal(err)
	}
	write("sb1", "/b", "two") // the sandbox keeps running after a commit
	l2, err := c.CommitLayer(ctx(t), req(&agentpb.CommitLayerRequest{SandboxId: "sb1"}))
	if err != nil {
		t.Fatal(err)
	}
	if l2.Msg.Layer.Parent != l1.Msg.Layer.Id || l2.Msg.Layer.Depth != 2 || l2.Msg.Layer.Template != "tmpl-minimal" || l2.Msg.Layer.CreatedAt == nil {
		t.Fatalf("second layer = %v", l2.Msg.Layer)
	}
	got, err := c.GetLayer(ctx(t), req(&agentpb.GetLayerRequest{LayerId: l2.Msg.Layer.Id}))
	if err != nil || got.Msg.Layer.Digest != l2.Msg.Layer.Digest || got.Msg.Layer.SizeBytes != 3 {
		t.Fatalf("GetLayer = %v, %v", got.Msg, err)
	}
	sb, err := c.CreateSandboxFromLayer(ctx(t), req(&agentpb.CreateSandboxFromLayerRequest{LayerId: l1.Msg.Layer.Id, Vcpus: 3}))
	if err != nil || sb.Msg.SandboxId == "" {
		t.Fatalf("CreateSandboxFromLayer = %v, %v", sb.Msg, err)
	}
	if spec, _ := fake.Spec(sb.Msg.SandboxId); spec.Layer != l1.Msg.Layer.Id || spec.VCPUs != 3 {
		t.Fatalf("backend spec = %+v", spec)
	}
	if _, err := c.ReadFile(ctx(t), req(&pb.ReadFileRequest{SandboxId: sb.Msg.SandboxId, Path: "/b"})); !agent.IsNotFound(err) {
		t.Fatalf("a sandbox from layer 1 sees layer 2's file: %v", err)
	}
	info, err := c.Info(ctx(t), req(&agentpb.InfoRequest{}))
	if err != nil || info.Msg.AgentId != "agent-7" || info.Msg.Version != "v9" || info.Msg.RunningSandboxes != 2 || info.Msg.Cpus < 1 || info.Msg.MemoryTotalBytes <= 0 {
		t.Fatalf("Info = %v, %v", info.Msg, err)
	}
	ls, err := c.ListLayers(ctx(t), req(&agentpb.ListLayersRequest{}))
	if err != nil || len(ls.Msg.Layers) != 2 {
		t.Fatalf("ListLayers = %v, %v", ls.Msg, err)
	}
	if _, err := c.DestroySandbox(ctx(t), req(&pb.DestroySandboxRequest{SandboxId: sb.Msg.SandboxId})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteLayer(ctx(t), req(&agentpb.DeleteLayerRequest{LayerId: l1.Msg.Layer.Id})); !agent.IsInUse(err) {
		t.Fatalf("deleting a parent layer: %v, want FailedPrecondition", err)
	}
}

func TestExportImport(t *testing.T) {
	fake := agenttest.NewFake()
	c := agenttest.Start(t, fake, agenttest.Config{}).Client
	create(t, c, "sb1")
	big := bytes.Repeat([]byte("0123456789abcdef"), 300_000) // 4.8 MB: several chunks
	if _, err := c.WriteFile(ctx(t), req(&pb.WriteFileRequest{SandboxId: "sb1", Path: "/big", Content: big})); err != nil {
		t.Fatal(err)
	}
	l, err := c.CommitLayer(ctx(t), req(&agentpb.CommitLayerRequest{SandboxId: "sb1"}))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.ExportLayer(ctx(t), req(&agentpb.ExportLayerRequest{LayerId: l.Msg.Layer.Id}))
	if err != nil {
		t.Fatal(err)
	}
	var header *agentpb.Layer
	var chunks [][]byte
	for s.Receive() {
		if h := s.Msg().GetHeader(); h != nil {
			if header != nil || chunks != nil {
				t.Fatal("header is not the first and only header")
			}
			header = h
			continue
		}
		chunks = append(chunks, s.Msg().GetChunk())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if header == nil || header.Digest != l.Msg.Layer.Digest || len(chunks) < 4 {
		t.Fatalf("header %v, %d chunks", header, len(chunks))
	}
	for _, ch := range chunks {
		if len(ch) > 1<<20 {
			t.Fatalf("chunk of %d bytes", len(ch))
		}
	}

	// Import into a second agent, and once with a wrong digest.
	other := agenttest.Start(t, agenttest.NewFake(), agenttest.Config{Network: "tcp"}).Client
	importLayer := func(digest string) (*connect.Response[agentpb.ImportLayerResponse], error) {
		st := other.ImportLayer(ctx(t))
		if err := st.Send(&agentpb.ImportLayerRequest{Msg: &agentpb.ImportLayerRequest_Header{Header: &agentpb.ImportLayerHeader{Digest: digest}}}); err != nil {
			return nil, err
		}
		for _, ch := range chunks {
			if err := st.Send(&agentpb.ImportLayerRequest{Msg: &agentpb.ImportLayerRequest_Chunk{Chunk: ch}}); err != nil {
				break // the server answered early; CloseAndReceive has it
			}
		}
		return st.CloseAndReceive()
	}
	imp, err := importLayer(header.Digest)
	if err != nil || imp.Msg.Layer.Digest != header.Digest || imp.Msg.Layer.SizeBytes != int64(len(big)) {
		t.Fatalf("ImportLayer = %v, %v", imp.Msg, err)
	}
	sb, err := other.CreateSandboxFromLayer(ctx(t), req(&agentpb.CreateSandboxFromLayerRequest{LayerId: imp.Msg.Layer.Id}))
	if err != nil {
		t.Fatal(err)
	}
	rf, err := other.ReadFile(ctx(t), req(&pb.ReadFileRequest{SandboxId: sb.Msg.SandboxId, Path: "/big"}))
	if err != nil || !bytes.Equal(rf.Msg.Content, big) {
		t.Fatalf("imported /big differs (%d bytes), %v", len(rf.Msg.GetContent()), err)
	}
	_, err = importLayer("sha256:0000")
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "want sha256:0000") {
		t.Fatalf("wrong digest: %v", err)
	}
	// A stream that does not start with a header is rejected.
	st := other.ImportLayer(ctx(t))
	_ = st.Send(&agentpb.ImportLayerRequest{Msg: &agentpb.ImportLayerRequest_Chunk{Chunk: []byte("x")}})
	if _, err := st.CloseAndReceive(); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("no header: %v", err)
	}
}

// latePidBackend writes output before it reports the pid, as a backend that
// polls for the pid does; or never reports one.
type latePidBackend struct {
	*agenttest.Fake
	pid int
}

func (b latePidBackend) Exec(ctx context.Context, id string, spec agent.ExecSpec, stdout, stderr io.Writer, started func(int)) (int, error) {
	io.WriteString(stdout, "early")
	time.Sleep(10 * time.Millisecond)
	if b.pid != 0 {
		started(b.pid)
	}
	io.WriteString(stderr, "late")
	return 0, nil
}

func TestExecStreamStartCarriesLatePid(t *testing.T) {
	for _, pid := range []int{42, 0} {
		c := agenttest.Start(t, latePidBackend{agenttest.NewFake(), pid}, agenttest.Config{}).Client
		events := streamEvents(t, c, &pb.ExecStreamRequest{SandboxId: "any", Cmd: "x"})
		if got := summarize(events); got != "start;stdout:early;stderr:late;end:0" {
			t.Fatalf("pid %d: events %s", pid, got)
		}
		if got := events[0].GetStart().GetPid(); got != uint32(pid) {
			t.Fatalf("start pid %d, want %d", got, pid)
		}
	}
}

func TestListSandboxes(t *testing.T) {
	c := agenttest.Start(t, agenttest.NewFake(), agenttest.Config{}).Client
	create(t, c, "sb-b")
	create(t, c, "sb-a")
	resp, err := c.ListSandboxes(ctx(t), req(&pb.ListSandboxesRequest{}))
	if err != nil || len(resp.Msg.Sandboxes) != 2 {
		t.Fatalf("ListSandboxes = %v, %v", resp.Msg, err)
	}
	sb := resp.Msg.Sandboxes[0]
	if sb.SandboxId != "sb-a" || sb.Status != "running" || sb.Template != "tmpl-minimal" || sb.HostIp != "127.0.0.1" ||
		sb.Metadata["backend"] != "fake" || time.Since(time.Unix(sb.CreatedAtUnix, 0)) > time.Minute {
		t.Fatalf("first sandbox = %v", sb)
	}
}

// TestSmallResponsesUncompressed: a client that accepts gzip gets a build
// step's small answers as they are (gzip would not shrink them and costs a
// compressor per call) and large ones compressed.
func TestSmallResponsesUncompressed(t *testing.T) {
	srv := agenttest.Start(t, agenttest.NewFake(), agenttest.Config{Network: "tcp"})
	create(t, srv.Client, "sb1")
	big := strings.Repeat("a", 64<<10)
	if _, err := srv.Client.WriteFile(ctx(t), req(&pb.WriteFileRequest{SandboxId: "sb1", Path: "/big", Content: []byte(big)})); err != nil {
		t.Fatal(err)
	}
	post := func(method, body string) (encoding string, n int) {
		t.Helper()
		r, err := http.NewRequest("POST", srv.URL+"/hostagent.v1.HostAgentService/"+method, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept-Encoding", "gzip")
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", method, resp.StatusCode, data)
		}
		return resp.Header.Get("Content-Encoding"), len(data)
	}
	if enc, n := post("ListSandboxes", "{}"); enc != "" {
		t.Errorf("ListSandboxes (%d bytes) came %s-encoded, want as is", n, enc)
	}
	if enc, n := post("ReadFile", `{"sandboxId":"sb1","path":"/big"}`); enc != "gzip" || n >= len(big) {
		t.Errorf("ReadFile of 64 KiB came %q-encoded in %d bytes, want gzip and smaller", enc, n)
	}
}
