package agent

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	agentpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
)

// layerServer implements agentv1connect.LayerServiceHandler over a Backend.
type layerServer struct {
	b  Backend
	o  options
	id string // the agent identity Info reports
}

func layerMsg(l LayerInfo) *agentpb.Layer {
	m := &agentpb.Layer{
		Id:        l.ID,
		Parent:    l.Parent,
		Template:  l.Template,
		Digest:    l.Digest,
		SizeBytes: l.SizeBytes,
		Depth:     int32(l.Depth),
	}
	if !l.Created.IsZero() {
		m.CreatedAt = timestamppb.New(l.Created)
	}
	return m
}

func templateMsg(t TemplateInfo) *agentpb.Template {
	m := &agentpb.Template{
		Id:        t.ID,
		Name:      t.Name,
		Type:      t.Type,
		Digest:    t.Digest,
		SizeBytes: t.SizeBytes,
	}
	if !t.Created.IsZero() {
		m.CreatedAt = timestamppb.New(t.Created)
	}
	return m
}

func (s *layerServer) CommitLayer(ctx context.Context, req *connect.Request[agentpb.CommitLayerRequest]) (*connect.Response[agentpb.CommitLayerResponse], error) {
	if err := checkID("sandbox_id", req.Msg.SandboxId); err != nil {
		return nil, err
	}
	commit := s.b.CommitLayer
	if d, ok := s.b.(DeferredCommitter); ok && req.Msg.DeferDigest {
		commit = d.CommitLayerDeferred
	}
	l, err := commit(ctx, req.Msg.SandboxId)
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&agentpb.CommitLayerResponse{Layer: layerMsg(l)}), nil
}

func (s *layerServer) CreateSandboxFromLayer(ctx context.Context, req *connect.Request[agentpb.CreateSandboxFromLayerRequest]) (*connect.Response[agentpb.CreateSandboxFromLayerResponse], error) {
	m := req.Msg
	if err := checkID("layer_id", m.LayerId); err != nil {
		return nil, err
	}
	if m.SandboxId != "" {
		if err := checkID("sandbox_id", m.SandboxId); err != nil {
			return nil, err
		}
	}
	if err := checkResources(m.Vcpus, m.MemoryMb, m.DiskSizeMb, m.TimeoutSec); err != nil {
		return nil, err
	}
	info, err := s.b.CreateSandbox(ctx, SandboxSpec{
		ID:          m.SandboxId,
		Layer:       m.LayerId,
		VCPUs:       int(m.Vcpus),
		MemoryMB:    int(m.MemoryMb),
		DiskSizeMB:  int(m.DiskSizeMb),
		Timeout:     seconds(m.TimeoutSec),
		DefaultUser: m.DefaultUser,
		DefaultEnv:  m.DefaultEnv,
	})
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&agentpb.CreateSandboxFromLayerResponse{
		SandboxId: info.ID,
		Status:    info.Status,
		HostIp:    info.HostIP,
		Metadata:  info.Metadata,
	}), nil
}

func (s *layerServer) GetLayer(ctx context.Context, req *connect.Request[agentpb.GetLayerRequest]) (*connect.Response[agentpb.GetLayerResponse], error) {
	if err := checkID("layer_id", req.Msg.LayerId); err != nil {
		return nil, err
	}
	l, err := s.b.Layer(ctx, req.Msg.LayerId)
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&agentpb.GetLayerResponse{Layer: layerMsg(l)}), nil
}

func (s *layerServer) ListLayers(ctx context.Context, _ *connect.Request[agentpb.ListLayersRequest]) (*connect.Response[agentpb.ListLayersResponse], error) {
	list, err := s.b.ListLayers(ctx)
	if err != nil {
		return nil, connectError(err)
	}
	resp := &agentpb.ListLayersResponse{}
	for _, l := range list {
		resp.Layers = append(resp.Layers, layerMsg(l))
	}
	return connect.NewResponse(resp), nil
}

func (s *layerServer) DeleteLayer(ctx context.Context, req *connect.Request[agentpb.DeleteLayerRequest]) (*connect.Response[agentpb.DeleteLayerResponse], error) {
	if err := checkID("layer_id", req.Msg.LayerId); err != nil {
		return nil, err
	}
	if err := s.b.DeleteLayer(ctx, req.Msg.LayerId); err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&agentpb.DeleteLayerResponse{}), nil
}

func (s *layerServer) GetTemplate(ctx context.Context, req *connect.Request[agentpb.GetTemplateRequest]) (*connect.Response[agentpb.GetTemplateResponse], error) {
	m := req.Msg
	ref, err := templateRef(m.Name, m.TeamId, m.TemplateId)
	if err != nil {
		return nil, err
	}
	t, err := s.b.Template(ctx, ref)
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&agentpb.GetTemplateResponse{Template: templateMsg(t)}), nil
}

func (s *layerServer) ListTemplates(ctx context.Context, _ *connect.Request[agentpb.ListTemplatesRequest]) (*connect.Response[agentpb.ListTemplatesResponse], error) {
	list, err := s.b.ListTemplates(ctx)
	if err != nil {
		return nil, connectError(err)
	}
	resp := &agentpb.ListTemplatesResponse{}
	for _, t := range list {
		resp.Templates = append(resp.Templates, templateMsg(t))
	}
	return connect.NewResponse(resp), nil
}
