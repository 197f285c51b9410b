package agent

import (
	"context"
	"fmt"
	"time"

	"connectrpc.com/connect"

	pb "wrenn.dev/wrenn/proto/hostagent/v1"
)

// hostAgentServer implements hostagentv1connect.HostAgentServiceHandler over
// a Backend: it validates requests, converts messages and maps errors.
type hostAgentServer struct {
	b Backend
	o options
}

func seconds(n int32) time.Duration { return time.Duration(n) * time.Second }

func checkResources(vcpus, memoryMB, diskMB, timeoutSec int32) error {
	for _, f := range []struct {
		name string
		v    int32
	}{{"vcpus", vcpus}, {"memory_mb", memoryMB}, {"disk_size_mb", diskMB}, {"timeout_sec", timeoutSec}} {
		if f.v < 0 {
			return invalid("%s is negative (%d)", f.name, f.v)
		}
	}
	return nil
}

func (s *hostAgentServer) CreateSandbox(ctx context.Context, req *connect.Request[pb.CreateSandboxRequest]) (*connect.Response[pb.CreateSandboxResponse], error) {
	m := req.Msg
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
		Template:    m.Template,
		TemplateID:  m.TemplateId,
		TeamID:      m.TeamId,
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
	return connect.NewResponse(&pb.CreateSandboxResponse{
		SandboxId: info.ID,
		Status:    info.Status,
		HostIp:    info.HostIP,
		Metadata:  info.Metadata,
	}), nil
}

func (s *hostAgentServer) DestroySandbox(ctx context.Context, req *connect.Request[pb.DestroySandboxRequest]) (*connect.Response[pb.DestroySandboxResponse], error) {
	if err := checkID("sandbox_id", req.Msg.SandboxId); err != nil {
		return nil, err
	}
	if err := s.b.DestroySandbox(ctx, req.Msg.SandboxId); err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&pb.DestroySandboxResponse{}), nil
}

func (s *hostAgentServer) ListSandboxes(ctx context.Context, _ *connect.Request[pb.ListSandboxesRequest]) (*connect.Response[pb.ListSandboxesResponse], error) {
	list, err := s.b.ListSandboxes(ctx)
	if err != nil {
		return nil, connectError(err)
	}
	resp := &pb.ListSandboxesResponse{}
	for _, sb := range list {
		var created int64
		if !sb.Created.IsZero() {
			created = sb.Created.Unix()
		}
		resp.Sandboxes = append(resp.Sandboxes, &pb.SandboxInfo{
			SandboxId:     sb.ID,
			Status:        sb.Status,
			Template:      sb.Template,
			HostIp:        sb.HostIP,
			CreatedAtUnix: created,
			Metadata:      sb.Metadata,
		})
	}
	return connect.NewResponse(resp), nil
}

func (s *hostAgentServer) WriteFile(ctx context.Context, req *connect.Request[pb.WriteFileRequest]) (*connect.Response[pb.WriteFileResponse], error) {
	m := req.Msg
	if err := checkID("sandbox_id", m.SandboxId); err != nil {
		return nil, err
	}
	if m.Path == "" {
		return nil, invalid("path is required")
	}
	if int64(len(m.Content)) > s.o.maxWriteFileBytes {
		return nil, connect.NewError(connect.CodeResourceExhausted,
			fmt.Errorf("%s: content is %d bytes, more than the agent's limit of %d", m.Path, len(m.Content), s.o.maxWriteFileBytes))
	}
	if err := s.b.WriteFile(ctx, m.SandboxId, m.Path, m.Content); err != nil {
		return nil, connectError(pathError(m.Path, err))
	}
	return connect.NewResponse(&pb.WriteFileResponse{}), nil
}

func (s *hostAgentServer) ReadFile(ctx context.Context, req *connect.Request[pb.ReadFileRequest]) (*connect.Response[pb.ReadFileResponse], error) {
	m := req.Msg
	if err := checkID("sandbox_id", m.SandboxId); err != nil {
		return nil, err
	}
	if m.Path == "" {
		return nil, invalid("path is required")
	}
	content, err := s.b.ReadFile(ctx, m.SandboxId, m.Path)
	if err != nil {
		return nil, connectError(pathError(m.Path, err))
	}
	return connect.NewResponse(&pb.ReadFileResponse{Content: content}), nil
}

// templateRef builds the ref a snapshot is stored under; a ref needs a name
// or a template id.
func templateRef(name, teamID, templateID string) (TemplateRef, error) {
	if name == "" && templateID == "" {
		return TemplateRef{}, invalid("name or template_id is required")
	}
	return TemplateRef{Name: name, TeamID: teamID, TemplateID: templateID}, nil
}

func (s *hostAgentServer) CreateSnapshot(ctx context.Context, req *connect.Request[pb.CreateSnapshotRequest]) (*connect.Response[pb.CreateSnapshotResponse], error) {
	m := req.Msg
	if err := checkID("sandbox_id", m.SandboxId); err != nil {
		return nil, err
	}
	ref, err := templateRef(m.Name, m.TeamId, m.TemplateId)
	if err != nil {
		return nil, err
	}
	size, err := s.b.CreateSnapshot(ctx, m.SandboxId, ref)
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&pb.CreateSnapshotResponse{SizeBytes: size}), nil
}

func (s *hostAgentServer) FlattenRootfs(ctx context.Context, req *connect.Request[pb.FlattenRootfsRequest]) (*connect.Response[pb.FlattenRootfsResponse], error) {
	m := req.Msg
	if err := checkID("sandbox_id", m.SandboxId); err != nil {
		return nil, err
	}
	ref, err := templateRef(m.Name, m.TeamId, m.TemplateId)
	if err != nil {
		return nil, err
	}
	size, err := s.b.FlattenRootfs(ctx, m.SandboxId, ref)
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&pb.FlattenRootfsResponse{SizeBytes: size}), nil
}

func (s *hostAgentServer) DeleteSnapshot(ctx context.Context, req *connect.Request[pb.DeleteSnapshotRequest]) (*connect.Response[pb.DeleteSnapshotResponse], error) {
	m := req.Msg
	ref, err := templateRef(m.Name, m.TeamId, m.TemplateId)
	if err != nil {
		return nil, err
	}
	if err := s.b.DeleteSnapshot(ctx, ref); err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&pb.DeleteSnapshotResponse{}), nil
}
