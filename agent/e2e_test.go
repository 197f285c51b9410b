package agent_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/agent/agenttest"
	pb "wrenn.dev/wrenn/proto/hostagent/v1"
	agentpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
)

// TestEndToEnd drives the real local backend (runc + overlayfs) through the
// generated client over a real unix socket and a real loopback TCP port.
func TestEndToEnd(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			b, root := newLocal(t)
			srv := agenttest.Start(t, b, agenttest.Config{Network: network, Token: "e2e-token"})
			e := &e2e{t: t, c: srv.Client, root: root}
			e.run()
			// Close the server's client before the backend: what a graceful
			// shutdown does.
			srv.Client.Close()
			if err := b.Close(context.Background()); err != nil {
				t.Fatalf("close: %v", err)
			}
			if l := leaks(t, root); len(l) > 0 {
				t.Fatalf("left behind: %v", l)
			}
		})
	}
}

type e2e struct {
	t    *testing.T
	c    *agent.Client
	root string
}

func (e *e2e) exec(id, line string, timeoutSec int32) (string, string, int32) {
	e.t.Helper()
	resp, err := e.c.Exec(ctx(e.t), req(&pb.ExecRequest{SandboxId: id, Cmd: "/bin/sh", Args: []string{"-c", line}, TimeoutSec: timeoutSec}))
	if err != nil {
		e.t.Fatalf("exec %q: %v", line, err)
	}
	return string(resp.Msg.Stdout), string(resp.Msg.Stderr), resp.Msg.ExitCode
}

func (e *e2e) mustExec(id, line string) string {
	e.t.Helper()
	out, errs, code := e.exec(id, line, 60)
	if code != 0 {
		e.t.Fatalf("%q: exit %d\nstdout: %s\nstderr: %s", line, code, out, errs)
	}
	return out
}

func (e *e2e) write(id, path, content string) {
	e.t.Helper()
	if _, err := e.c.WriteFile(ctx(e.t), req(&pb.WriteFileRequest{SandboxId: id, Path: path, Content: []byte(content)})); err != nil {
		e.t.Fatalf("write %s: %v", path, err)
	}
}

func (e *e2e) read(id, path string) (string, error) {
	resp, err := e.c.ReadFile(ctx(e.t), req(&pb.ReadFileRequest{SandboxId: id, Path: path}))
	if err != nil {
		return "", err
	}
	return string(resp.Msg.Content), nil
}

func (e *e2e) commit(id string) *agentpb.Layer {
	e.t.Helper()
	resp, err := e.c.CommitLayer(ctx(e.t), req(&agentpb.CommitLayerRequest{SandboxId: id}))
	if err != nil {
		e.t.Fatalf("commit %s: %v", id, err)
	}
	return resp.Msg.Layer
}

func (e *e2e) run() {
	t, c := e.t, e.c
	// create
	sb, err := c.CreateSandbox(ctx(t), req(&pb.CreateSandboxRequest{SandboxId: "e2e-1", Template: "minimal", Vcpus: 1, MemoryMb: 256}))
	if err != nil || sb.Msg.SandboxId != "e2e-1" || sb.Msg.Status != "running" {
		t.Fatalf("CreateSandbox = %v, %v", sb.Msg, err)
	}
	list, err := c.ListSandboxes(ctx(t), req(&pb.ListSandboxesRequest{}))
	if err != nil || len(list.Msg.Sandboxes) != 1 || list.Msg.Sandboxes[0].SandboxId != "e2e-1" {
		t.Fatalf("ListSandboxes = %v, %v", list.Msg, err)
	}

	// exec: stdout, stderr, exit codes, timeout
	out, errs, code := e.exec("e2e-1", "echo out; echo err >&2; exit 3", 0)
	if out != "out\n" || errs != "err\n" || code != 3 {
		t.Fatalf("exec = %q %q %d", out, errs, code)
	}
	if _, _, code := e.exec("e2e-1", "kill -9 $$", 0); code != 137 {
		t.Fatalf("a killed shell exits %d, want 137", code)
	}
	marker := "31" + randomDigits(5)
	_, _, code = e.exec("e2e-1", "sleep "+marker+" & sleep "+marker, 1)
	if code != 124 {
		t.Fatalf("timed-out exec exited %d, want 124", code)
	}
	waitGone(t, "sleep "+marker)

	// ExecStream: events in order, live
	events := streamEvents(t, c, &pb.ExecStreamRequest{SandboxId: "e2e-1", Cmd: "/bin/sh", Args: []string{"-c", "echo a; sleep 0.2; echo b >&2; exit 5"}})
	if got := summarize(events); got != "start;stdout:a\n;stderr:b\n;end:5" {
		t.Fatalf("ExecStream = %s", got)
	}
	if events[0].GetStart().GetPid() == 0 {
		t.Fatal("start event without a pid")
	}
	// ExecStream cancel kills the command
	marker = "32" + randomDigits(5)
	sctx, cancel := context.WithCancel(ctx(t))
	s, err := c.ExecStream(sctx, req(&pb.ExecStreamRequest{SandboxId: "e2e-1", Cmd: "/bin/sh", Args: []string{"-c", "echo ready; sleep " + marker}}))
	if err != nil {
		t.Fatal(err)
	}
	for s.Receive() {
		if s.Msg().GetData() != nil {
			break // the command runs
		}
	}
	if len(hostProcesses("sleep "+marker)) == 0 {
		t.Fatal("the streamed command is not running")
	}
	cancel()
	s.Close()
	waitGone(t, "sleep "+marker)

	// files: write/read, and escapes never touch the host
	e.write("e2e-1", "/etc/greeting", "hello\x00world")
	if got, err := e.read("e2e-1", "/etc/greeting"); err != nil || got != "hello\x00world" {
		t.Fatalf("read back %q, %v", got, err)
	}
	if got := e.mustExec("e2e-1", "cat /etc/greeting | tr '\\000' ' '"); got != "hello world" {
		t.Fatalf("the sandbox sees %q", got)
	}
	e.escapes()
	e.extractTar("e2e-1")

	// commit keeps the sandbox; create from a layer sees exactly its chain
	e.write("e2e-1", "/layer1", "one")
	l1 := e.commit("e2e-1")
	if l1.Parent != "" || l1.Depth != 1 || !strings.HasPrefix(l1.Digest, "sha256:") {
		t.Fatalf("first layer = %v", l1)
	}
	if got := e.mustExec("e2e-1", "cat /layer1"); got != "one" {
		t.Fatalf("after commit the sandbox sees %q", got)
	}
	e.mustExec("e2e-1", "echo two > /layer2 && rm /layer1")
	l2 := e.commit("e2e-1")
	if l2.Parent != l1.Id || l2.Depth != 2 {
		t.Fatalf("second layer = %v", l2)
	}
	got, err := c.GetLayer(ctx(t), req(&agentpb.GetLayerRequest{LayerId: l1.Id}))
	if err != nil || got.Msg.Layer.Digest != l1.Digest {
		t.Fatalf("GetLayer = %v, %v", got.Msg, err)
	}
	fromL1, err := c.CreateSandboxFromLayer(ctx(t), req(&agentpb.CreateSandboxFromLayerRequest{LayerId: l1.Id, SandboxId: "e2e-l1"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.mustExec(fromL1.Msg.SandboxId, "cat /layer1; test ! -e /layer2 && echo no-layer2"); got != "oneno-layer2\n" {
		t.Fatalf("sandbox from layer 1 sees %q", got)
	}
	if _, err := c.DeleteLayer(ctx(t), req(&agentpb.DeleteLayerRequest{LayerId: l1.Id})); !agent.IsInUse(err) {
		t.Fatalf("deleting a layer in use: %v", err)
	}
	if _, err := c.DestroySandbox(ctx(t), req(&pb.DestroySandboxRequest{SandboxId: "e2e-l1"})); err != nil {
		t.Fatal(err)
	}

	// export layer 2 and import it again on top of layer 1
	e.exportImport(l1, l2)

	// snapshot ends the sandbox; a sandbox from it has its files
	e.mustExec("e2e-1", "echo snap > /snapfile")
	snap, err := c.CreateSnapshot(ctx(t), req(&pb.CreateSnapshotRequest{SandboxId: "e2e-1", Name: "e2e-snap", TeamId: "team-1", TemplateId: "tpl-e2e"}))
	if err != nil || snap.Msg.SizeBytes <= 0 {
		t.Fatalf("CreateSnapshot = %v, %v", snap.Msg, err)
	}
	if _, err := c.Exec(ctx(t), req(&pb.ExecRequest{SandboxId: "e2e-1", Cmd: "true"})); !agent.IsNotFound(err) {
		t.Fatalf("exec in a snapshotted sandbox: %v, want NotFound", err)
	}
	if _, err := c.CreateSandbox(ctx(t), req(&pb.CreateSandboxRequest{SandboxId: "e2e-2", TeamId: "team-1", TemplateId: "tpl-e2e"})); err != nil {
		t.Fatalf("create from snapshot by template_id: %v", err)
	}
	if got := e.mustExec("e2e-2", "cat /snapfile /layer2"); got != "snap\ntwo\n" {
		t.Fatalf("sandbox from the snapshot sees %q", got)
	}

	// flatten stores a base template holding the files
	e.mustExec("e2e-2", "echo flat > /flatfile")
	flat, err := c.FlattenRootfs(ctx(t), req(&pb.FlattenRootfsRequest{SandboxId: "e2e-2", Name: "e2e-flat"}))
	if err != nil || flat.Msg.SizeBytes <= 0 {
		t.Fatalf("FlattenRootfs = %v, %v", flat.Msg, err)
	}
	tpl, err := c.GetTemplate(ctx(t), req(&agentpb.GetTemplateRequest{Name: "e2e-flat"}))
	if err != nil || !strings.HasPrefix(tpl.Msg.Template.Digest, "sha256:") || tpl.Msg.Template.Type != "base" {
		t.Fatalf("GetTemplate = %v, %v", tpl.Msg, err)
	}
	if _, err := c.CreateSandbox(ctx(t), req(&pb.CreateSandboxRequest{SandboxId: "e2e-flat-1", Template: "e2e-flat"})); err != nil {
		t.Fatalf("create from the flattened template: %v", err)
	}
	if got := e.mustExec("e2e-flat-1", "cat /flatfile /snapfile /layer2"); got != "flat\nsnap\ntwo\n" {
		t.Fatalf("sandbox from the flattened template sees %q", got)
	}
	if _, err := c.DestroySandbox(ctx(t), req(&pb.DestroySandboxRequest{SandboxId: "e2e-flat-1"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSnapshot(ctx(t), req(&pb.DeleteSnapshotRequest{TeamId: "team-1", TemplateId: "tpl-e2e"})); err != nil {
		t.Fatalf("DeleteSnapshot: %v", err)
	}

	// destroy is idempotent
	sb3, err := c.CreateSandbox(ctx(t), req(&pb.CreateSandboxRequest{Template: "e2e-flat"}))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.DestroySandbox(ctx(t), req(&pb.DestroySandboxRequest{SandboxId: sb3.Msg.SandboxId})); err != nil {
			t.Fatalf("destroy: %v", err)
		}
	}
	if l := leaks(t, e.root); len(l) > 0 {
		t.Fatalf("left behind after destroying every sandbox: %v", l)
	}
}

// escapes tries to leave the rootfs through WriteFile and ReadFile: ".."
// beyond the root, absolute symlinks and relative symlinks pointing out.
// The host's files must stay untouched and unread whatever the agent
// answers (an error, or resolving the path inside the rootfs).
func (e *e2e) escapes() {
	t := e.t
	hostDir := t.TempDir()
	secret := "secret-" + randomDigits(12)
	hostFile := filepath.Join(hostDir, "secret")
	if err := os.WriteFile(hostFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustExec("e2e-1", "ln -s "+hostDir+" /abs-link && ln -s ../../../../../../.."+hostDir+" /rel-link && ln -s "+hostFile+" /file-link")
	for _, p := range []string{
		"/../../../../.." + hostFile,
		"/abs-link/secret",
		"/rel-link/secret",
		"/file-link",
	} {
		if got, err := e.read("e2e-1", p); err == nil && strings.Contains(got, secret) {
			t.Errorf("ReadFile %s read the host's file", p)
		} else if err != nil && connect.CodeOf(err) != connect.CodeInvalidArgument && connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("ReadFile %s: %v, want InvalidArgument or NotFound", p, err)
		}
		_, err := e.c.WriteFile(ctx(t), req(&pb.WriteFileRequest{SandboxId: "e2e-1", Path: p, Content: []byte("pwned")}))
		if err != nil && connect.CodeOf(err) != connect.CodeInvalidArgument && connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("WriteFile %s: %v, want InvalidArgument or NotFound", p, err)
		}
		if err != nil && connect.CodeOf(err) == connect.CodeInvalidArgument && !strings.Contains(err.Error(), p) {
			t.Errorf("WriteFile %s: the error does not say what escaped: %v", p, err)
		}
		if b, _ := os.ReadFile(hostFile); string(b) != secret {
			t.Fatalf("WriteFile %s changed the host's file", p)
		}
		if ents, _ := os.ReadDir(hostDir); len(ents) != 1 {
			t.Fatalf("WriteFile %s created a file in the host's %s", p, hostDir)
		}
	}
}

func (e *e2e) exportImport(parent, l *agentpb.Layer) {
	t := e.t
	s, err := e.c.ExportLayer(ctx(t), req(&agentpb.ExportLayerRequest{LayerId: l.Id}))
	if err != nil {
		t.Fatal(err)
	}
	var header *agentpb.Layer
	var data bytes.Buffer
	for s.Receive() {
		if h := s.Msg().GetHeader(); h != nil {
			header = h
		}
		data.Write(s.Msg().GetChunk())
	}
	if err := s.Err(); err != nil || header == nil || header.Digest != l.Digest || data.Len() == 0 {
		t.Fatalf("ExportLayer: header %v, %d bytes, %v", header, data.Len(), err)
	}
	st := e.c.ImportLayer(ctx(t))
	if err := st.Send(&agentpb.ImportLayerRequest{Msg: &agentpb.ImportLayerRequest_Header{Header: &agentpb.ImportLayerHeader{Parent: parent.Id, Digest: header.Digest}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&agentpb.ImportLayerRequest{Msg: &agentpb.ImportLayerRequest_Chunk{Chunk: data.Bytes()}}); err != nil {
		t.Fatal(err)
	}
	imp, err := st.CloseAndReceive()
	if err != nil || imp.Msg.Layer.Digest != l.Digest || imp.Msg.Layer.Parent != parent.Id {
		t.Fatalf("ImportLayer = %v, %v", imp.Msg, err)
	}
	sb, err := e.c.CreateSandboxFromLayer(ctx(t), req(&agentpb.CreateSandboxFromLayerRequest{LayerId: imp.Msg.Layer.Id}))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.mustExec(sb.Msg.SandboxId, "cat /layer2; test ! -e /layer1 && echo whiteout-kept"); got != "two\nwhiteout-kept\n" {
		t.Fatalf("sandbox from the imported layer sees %q", got)
	}
	if _, err := e.c.DestroySandbox(ctx(t), req(&pb.DestroySandboxRequest{SandboxId: sb.Msg.SandboxId})); err != nil {
		t.Fatal(err)
	}
}

// waitGone waits until no host process's command line holds marker: a
// killed command's process tree must disappear.
func waitGone(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		procs := hostProcesses(marker)
		if len(procs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes still running: %v", procs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func randomDigits(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	s := hex.EncodeToString(b)
	var out strings.Builder
	for i := 0; out.Len() < n; i++ {
		out.WriteByte('0' + s[i%len(s)]%10)
	}
	return out.String()
}

// extractTar streams a tar of 300 files in small chunks into a sandbox
// directory and reads them back.
func (e *e2e) extractTar(id string) {
	t := e.t
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := range 300 {
		body := fmt.Sprintf("file %d\n", i)
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d%d/f%d", i%7, i), Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	st := e.c.ExtractTar(ctx(t))
	if err := st.Send(&agentpb.ExtractTarRequest{Msg: &agentpb.ExtractTarRequest_Header{Header: &agentpb.ExtractTarHeader{SandboxId: id, Path: "/tmp/ctx"}}}); err != nil {
		t.Fatal(err)
	}
	for data := buf.Bytes(); len(data) > 0; {
		n := min(len(data), 4000)
		if err := st.Send(&agentpb.ExtractTarRequest{Msg: &agentpb.ExtractTarRequest_Chunk{Chunk: data[:n]}}); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	resp, err := st.CloseAndReceive()
	if err != nil || resp.Msg.Entries != 300 {
		t.Fatalf("ExtractTar = %v, %v", resp, err)
	}
	if got := e.mustExec(id, "find /tmp/ctx -type f | wc -l; cat /tmp/ctx/d5/f299"); got != "300\nfile 299\n" {
		t.Fatalf("after ExtractTar: %q", got)
	}
	e.mustExec(id, "rm -rf /tmp/ctx")
	// the header must come first and name a sandbox
	st = e.c.ExtractTar(ctx(t))
	_ = st.Send(&agentpb.ExtractTarRequest{Msg: &agentpb.ExtractTarRequest_Chunk{Chunk: []byte("x")}})
	if _, err := st.CloseAndReceive(); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("ExtractTar without a header: %v, want InvalidArgument", err)
	}
	st = e.c.ExtractTar(ctx(t))
	_ = st.Send(&agentpb.ExtractTarRequest{Msg: &agentpb.ExtractTarRequest_Header{Header: &agentpb.ExtractTarHeader{SandboxId: "nope", Path: "/tmp"}}})
	if _, err := st.CloseAndReceive(); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("ExtractTar into an unknown sandbox: %v, want NotFound", err)
	}
}
