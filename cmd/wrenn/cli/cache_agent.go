package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/cache"
	hostagentv1 "wrenn.dev/wrenn/proto/hostagent/v1"
	"wrenn.dev/wrenn/proto/hostagent/v1/hostagentv1connect"
	agentv1 "wrenn.dev/wrenn/proto/wrenn/agent/v1"
	"wrenn.dev/wrenn/proto/wrenn/agent/v1/agentv1connect"
)

// cacheAgentClient is what the cache commands call on an agent: the
// layer service, plus DeleteSnapshot of hostagent.v1 for snapshot records.
type cacheAgentClient interface {
	Info(context.Context, *connect.Request[agentv1.InfoRequest]) (*connect.Response[agentv1.InfoResponse], error)
	GetLayer(context.Context, *connect.Request[agentv1.GetLayerRequest]) (*connect.Response[agentv1.GetLayerResponse], error)
	ListLayers(context.Context, *connect.Request[agentv1.ListLayersRequest]) (*connect.Response[agentv1.ListLayersResponse], error)
	DeleteLayer(context.Context, *connect.Request[agentv1.DeleteLayerRequest]) (*connect.Response[agentv1.DeleteLayerResponse], error)
	GetTemplate(context.Context, *connect.Request[agentv1.GetTemplateRequest]) (*connect.Response[agentv1.GetTemplateResponse], error)
	ExportLayer(context.Context, *connect.Request[agentv1.ExportLayerRequest]) (*connect.ServerStreamForClient[agentv1.ExportLayerResponse], error)
	ImportLayer(context.Context) *connect.ClientStreamForClient[agentv1.ImportLayerRequest, agentv1.ImportLayerResponse]
	DeleteSnapshot(context.Context, *connect.Request[hostagentv1.DeleteSnapshotRequest]) (*connect.Response[hostagentv1.DeleteSnapshotResponse], error)
}

// The generated clients together satisfy it.
var _ cacheAgentClient = struct {
	agentv1connect.LayerServiceClient
	hostagentv1connect.HostAgentServiceClient
}{}

var _ cacheAgentClient = (*agent.Client)(nil)

// cacheAgent adapts the connect client to cache.AgentLayers, mapping
// connect codes back to the cache's sentinel errors.
type cacheAgent struct{ c cacheAgentClient }

var _ cache.AgentLayers = cacheAgent{}

// importChunk is the size of the chunks ImportLayer sends.
const importChunk = 256 << 10

func agentErr(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case agent.IsNotFound(err):
		return fmt.Errorf("%s: %w", what, cache.ErrNotFound)
	case agent.IsInUse(err):
		return fmt.Errorf("%s: %w", what, cache.ErrInUse)
	case agent.IsUnimplemented(err):
		return fmt.Errorf("%s: the agent has no layer service (wrenn.agent.v1): it cannot list, delete or move layers", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func layerInfo(l *agentv1.Layer) cache.LayerInfo {
	if l == nil {
		return cache.LayerInfo{}
	}
	return cache.LayerInfo{ID: l.GetId(), Parent: l.GetParent(), Template: l.GetTemplate(), Digest: l.GetDigest(), SizeBytes: l.GetSizeBytes(), Created: tsTime(l.GetCreatedAt())}
}

func tsTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func (a cacheAgent) Identity(ctx context.Context) (string, error) {
	r, err := a.c.Info(ctx, connect.NewRequest(&agentv1.InfoRequest{}))
	if err != nil {
		return "", agentErr("agent info", err)
	}
	return r.Msg.GetAgentId(), nil
}

func (a cacheAgent) ListLayers(ctx context.Context) ([]cache.LayerInfo, error) {
	r, err := a.c.ListLayers(ctx, connect.NewRequest(&agentv1.ListLayersRequest{}))
	if err != nil {
		return nil, agentErr("listing layers", err)
	}
	out := make([]cache.LayerInfo, 0, len(r.Msg.GetLayers()))
	for _, l := range r.Msg.GetLayers() {
		out = append(out, layerInfo(l))
	}
	return out, nil
}

func (a cacheAgent) GetLayer(ctx context.Context, id string) (cache.LayerInfo, error) {
	r, err := a.c.GetLayer(ctx, connect.NewRequest(&agentv1.GetLayerRequest{LayerId: id}))
	if err != nil {
		return cache.LayerInfo{}, agentErr("layer "+id, err)
	}
	return layerInfo(r.Msg.GetLayer()), nil
}

func (a cacheAgent) DeleteLayer(ctx context.Context, id string) error {
	_, err := a.c.DeleteLayer(ctx, connect.NewRequest(&agentv1.DeleteLayerRequest{LayerId: id}))
	return agentErr("deleting layer "+id, err)
}

func (a cacheAgent) GetTemplate(ctx context.Context, id, name string) (cache.TemplateInfo, error) {
	r, err := a.c.GetTemplate(ctx, connect.NewRequest(&agentv1.GetTemplateRequest{TemplateId: id, Name: name}))
	if err != nil {
		return cache.TemplateInfo{}, agentErr("template "+id+name, err)
	}
	t := r.Msg.GetTemplate()
	return cache.TemplateInfo{ID: t.GetId(), Name: t.GetName(), Digest: t.GetDigest(), SizeBytes: t.GetSizeBytes()}, nil
}

func (a cacheAgent) DeleteSnapshot(ctx context.Context, name string) error {
	_, err := a.c.DeleteSnapshot(ctx, connect.NewRequest(&hostagentv1.DeleteSnapshotRequest{Name: name}))
	return agentErr("deleting snapshot "+name, err)
}

func (a cacheAgent) ExportLayer(ctx context.Context, id string, w io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := a.c.ExportLayer(ctx, connect.NewRequest(&agentv1.ExportLayerRequest{LayerId: id}))
	if err != nil {
		return agentErr("exporting layer "+id, err)
	}
	defer st.Close()
	for st.Receive() {
		if chunk := st.Msg().GetChunk(); len(chunk) > 0 {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
		}
	}
	return agentErr("exporting layer "+id, st.Err())
}

// ImportLayer streams r after a header. A layer that sits directly on a
// base template is imported with the template's name as its parent, which
// the agent resolves to its own base of that name.
func (a cacheAgent) ImportLayer(ctx context.Context, parent, template string, digest string, r io.Reader) (cache.LayerInfo, error) {
	if parent == "" {
		parent = template
	}
	st := a.c.ImportLayer(ctx)
	if err := st.Send(&agentv1.ImportLayerRequest{Msg: &agentv1.ImportLayerRequest_Header{Header: &agentv1.ImportLayerHeader{Parent: parent, Digest: digest}}}); err != nil && !errors.Is(err, io.EOF) {
		return cache.LayerInfo{}, agentErr("importing a layer", err)
	}
	buf := make([]byte, importChunk)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if err := st.Send(&agentv1.ImportLayerRequest{Msg: &agentv1.ImportLayerRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				if errors.Is(err, io.EOF) {
					break // the server answered early; CloseAndReceive has why
				}
				return cache.LayerInfo{}, agentErr("importing a layer", err)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			_, _ = st.CloseAndReceive()
			return cache.LayerInfo{}, rerr
		}
	}
	resp, err := st.CloseAndReceive()
	if err != nil {
		return cache.LayerInfo{}, agentErr("importing a layer", err)
	}
	return layerInfo(resp.Msg.GetLayer()), nil
}
