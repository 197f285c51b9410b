package executor

import (
	"context"
	"time"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/cache"
	pb "wrenn.dev/wrenn/proto/hostagent/v1"
	lpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
)

// HostAgent is the seed's buildAgentClient: the hostagent.v1 calls a build
// makes. Every production agent answers them.
type HostAgent interface {
	CreateSandbox(context.Context, *connect.Request[pb.CreateSandboxRequest]) (*connect.Response[pb.CreateSandboxResponse], error)
	DestroySandbox(context.Context, *connect.Request[pb.DestroySandboxRequest]) (*connect.Response[pb.DestroySandboxResponse], error)
	Exec(context.Context, *connect.Request[pb.ExecRequest]) (*connect.Response[pb.ExecResponse], error)
	WriteFile(context.Context, *connect.Request[pb.WriteFileRequest]) (*connect.Response[pb.WriteFileResponse], error)
	ReadFile(context.Context, *connect.Request[pb.ReadFileRequest]) (*connect.Response[pb.ReadFileResponse], error)
	CreateSnapshot(context.Context, *connect.Request[pb.CreateSnapshotRequest]) (*connect.Response[pb.CreateSnapshotResponse], error)
	FlattenRootfs(context.Context, *connect.Request[pb.FlattenRootfsRequest]) (*connect.Response[pb.FlattenRootfsResponse], error)
}

// LayerAgent is the subset of wrenn.agent.v1.LayerService the executor
// uses. An agent without it answers Unimplemented, and the executor falls
// back to one snapshot per step.
type LayerAgent interface {
	Info(context.Context, *connect.Request[lpb.InfoRequest]) (*connect.Response[lpb.InfoResponse], error)
	CommitLayer(context.Context, *connect.Request[lpb.CommitLayerRequest]) (*connect.Response[lpb.CommitLayerResponse], error)
	CreateSandboxFromLayer(context.Context, *connect.Request[lpb.CreateSandboxFromLayerRequest]) (*connect.Response[lpb.CreateSandboxFromLayerResponse], error)
	GetLayer(context.Context, *connect.Request[lpb.GetLayerRequest]) (*connect.Response[lpb.GetLayerResponse], error)
	GetTemplate(context.Context, *connect.Request[lpb.GetTemplateRequest]) (*connect.Response[lpb.GetTemplateResponse], error)
}

// Agent is both: agent.Client satisfies it.
type Agent interface {
	HostAgent
	LayerAgent
}

// Store is the part of the layer cache a build uses; cache.BadgerStore
// satisfies it.
type Store interface {
	Get(ctx context.Context, key string) (cache.Record, error)
	Lookup(ctx context.Context, keys []string) (map[string]cache.Record, error)
	Put(ctx context.Context, rec cache.Record) error
	Delete(ctx context.Context, key string) error
	Touch(ctx context.Context, keys []string, t time.Time) error
	PutRef(ctx context.Context, ref cache.Ref) error
	Hold(ctx context.Context, l cache.Lease) error
	Release(ctx context.Context, id string) error
	PutBase(ctx context.Context, b cache.Base) error
	GetBase(ctx context.Context, agent, template string) (cache.Base, error)
}

// StreamAgent is hostagent.v1's ExecStream, through which build steps
// report their output as it arrives. An agent without it (its client type
// lacks the method, or the call answers Unimplemented) runs steps with the
// unary Exec, and their output is reported when they end.
type StreamAgent interface {
	ExecStream(context.Context, *connect.Request[pb.ExecStreamRequest]) (*connect.ServerStreamForClient[pb.ExecStreamResponse], error)
}

// TarAgent is LayerService's ExtractTar, which streams a COPY's files into
// the sandbox. An agent without it gets WriteFile of a tarball, extracted
// by the step's own exec.
type TarAgent interface {
	ExtractTar(context.Context) *connect.ClientStreamForClient[lpb.ExtractTarRequest, lpb.ExtractTarResponse]
}
