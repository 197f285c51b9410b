package agent_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/agent/agenttest"
	pb "wrenn.dev/wrenn/proto/hostagent/v1"
	agentpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
)

// These benchmarks measure the agent as a client sees it: generated connect
// client -> socket -> server -> local backend (runc + overlayfs). They need
// root. bench/agent-exec.sh sets BenchmarkExecTrue against `runc run` by
// hand; docs/benchmarks.md records the figures.

func benchAgent(b *testing.B, network string) *agent.Client {
	b.Helper()
	be, _ := newLocal(b)
	return agenttest.Start(b, be, agenttest.Config{Network: network}).Client
}

func fatalIf(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkExecTrue is one Exec round trip of `true` in a running sandbox.
func BenchmarkExecTrue(b *testing.B) {
	be, _ := newLocal(b)
	ctx := context.Background()
	for _, network := range []string{"unix", "tcp"} {
		c := agenttest.Start(b, be, agenttest.Config{Network: network}).Client
		sb, err := c.CreateSandbox(ctx, req(&pb.CreateSandboxRequest{Template: "minimal"}))
		fatalIf(b, err)
		id := sb.Msg.SandboxId
		b.Run(network, func(b *testing.B) {
			for range b.N {
				resp, err := c.Exec(ctx, req(&pb.ExecRequest{SandboxId: id, Cmd: "true"}))
				if err != nil || resp.Msg.ExitCode != 0 {
					b.Fatalf("exec true: %v, %v", resp, err)
				}
			}
		})
		_, err = c.DestroySandbox(ctx, req(&pb.DestroySandboxRequest{SandboxId: id}))
		fatalIf(b, err)
	}
}

// BenchmarkCreateFromChain creates (mounts and starts) a sandbox on top of a
// chain of 1, 10 and 100 committed layers; destroying it is not timed.
func BenchmarkCreateFromChain(b *testing.B) {
	c := benchAgent(b, "unix")
	ctx := context.Background()
	// One chain of 100 layers; the 1st and 10th are the shorter chains.
	sb, err := c.CreateSandbox(ctx, req(&pb.CreateSandboxRequest{Template: "minimal"}))
	fatalIf(b, err)
	chain := map[int]*agentpb.Layer{}
	for i := 1; i <= 100; i++ {
		_, err = c.WriteFile(ctx, req(&pb.WriteFileRequest{SandboxId: sb.Msg.SandboxId, Path: fmt.Sprintf("/layer-%03d", i), Content: []byte("x")}))
		fatalIf(b, err)
		resp, err := c.CommitLayer(ctx, req(&agentpb.CommitLayerRequest{SandboxId: sb.Msg.SandboxId}))
		fatalIf(b, err)
		chain[i] = resp.Msg.Layer
	}
	_, err = c.DestroySandbox(ctx, req(&pb.DestroySandboxRequest{SandboxId: sb.Msg.SandboxId}))
	fatalIf(b, err)
	for _, depth := range []int{1, 10, 100} {
		top := chain[depth]
		if int(top.Depth) != depth {
			b.Fatalf("chain depth %d, want %d", top.Depth, depth)
		}
		b.Run(fmt.Sprintf("layers=%d", depth), func(b *testing.B) {
			for range b.N {
				s, err := c.CreateSandboxFromLayer(ctx, req(&agentpb.CreateSandboxFromLayerRequest{LayerId: top.Id}))
				fatalIf(b, err)
				b.StopTimer()
				_, err = c.DestroySandbox(ctx, req(&pb.DestroySandboxRequest{SandboxId: s.Msg.SandboxId}))
				fatalIf(b, err)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkCommit commits a 1 MB change on top of a 10 MB and a 1 GB base
// layer: the time must not grow with the base.
func BenchmarkCommit(b *testing.B) {
	change := make([]byte, 1<<20)
	rand.Read(change)
	for _, base := range []struct {
		name string
		mb   int
	}{{"base=10MB", 10}, {"base=1GB", 1024}} {
		c := benchAgent(b, "unix")
		ctx := context.Background()
		sb, err := c.CreateSandbox(ctx, req(&pb.CreateSandboxRequest{Template: "minimal"}))
		fatalIf(b, err)
		line := fmt.Sprintf("head -c %d /dev/urandom > /base && sync", base.mb<<20)
		out, err := c.Exec(ctx, req(&pb.ExecRequest{SandboxId: sb.Msg.SandboxId, Cmd: "/bin/sh", Args: []string{"-c", line}}))
		fatalIf(b, err)
		if out.Msg.ExitCode != 0 {
			b.Fatalf("making the base: %s", out.Msg.Stderr)
		}
		baseResp, err := c.CommitLayer(ctx, req(&agentpb.CommitLayerRequest{SandboxId: sb.Msg.SandboxId}))
		fatalIf(b, err)
		baseLayer := baseResp.Msg.Layer
		_, err = c.DestroySandbox(ctx, req(&pb.DestroySandboxRequest{SandboxId: sb.Msg.SandboxId}))
		fatalIf(b, err)
		b.Run(base.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				s, err := c.CreateSandboxFromLayer(ctx, req(&agentpb.CreateSandboxFromLayerRequest{LayerId: baseLayer.Id}))
				fatalIf(b, err)
				id := s.Msg.SandboxId
				_, err = c.WriteFile(ctx, req(&pb.WriteFileRequest{SandboxId: id, Path: "/change", Content: change}))
				fatalIf(b, err)
				b.StartTimer()
				lResp, err := c.CommitLayer(ctx, req(&agentpb.CommitLayerRequest{SandboxId: id}))
				fatalIf(b, err)
				l := lResp.Msg.Layer
				b.StopTimer()
				if l.Parent != baseLayer.Id {
					b.Fatalf("commit parent %s, want %s", l.Parent, baseLayer.Id)
				}
				_, err = c.DestroySandbox(ctx, req(&pb.DestroySandboxRequest{SandboxId: id}))
				fatalIf(b, err)
				_, err = c.DeleteLayer(ctx, req(&agentpb.DeleteLayerRequest{LayerId: l.Id}))
				fatalIf(b, err)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkExecProtocolOverhead is the same Exec call against the in-memory
// fake backend: what the connect layer itself costs per call, without runc.
func BenchmarkExecProtocolOverhead(b *testing.B) {
	ctx := context.Background()
	for _, network := range []string{"unix", "tcp"} {
		c := agenttest.Start(b, agenttest.NewFake(), agenttest.Config{Network: network}).Client
		_, err := c.CreateSandbox(ctx, req(&pb.CreateSandboxRequest{SandboxId: "sb"}))
		fatalIf(b, err)
		b.Run(network, func(b *testing.B) {
			for range b.N {
				if _, err := c.Exec(ctx, req(&pb.ExecRequest{SandboxId: "sb", Cmd: "true"})); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
