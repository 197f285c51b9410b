package execrunner

import (
	"context"
	"errors"
	"testing"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/executor"
	lpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
)

// infoAgent answers Info only; placement needs nothing else.
type infoAgent struct {
	executor.Agent
	free int64
	err  error
}

func (a *infoAgent) Info(context.Context, *connect.Request[lpb.InfoRequest]) (*connect.Response[lpb.InfoResponse], error) {
	if a.err != nil {
		return nil, a.err
	}
	return connect.NewResponse(&lpb.InfoResponse{MemoryAvailableBytes: a.free}), nil
}

func TestPickLeastLoadedThenMostFree(t *testing.T) {
	small := &Host{Name: "small", Agent: &infoAgent{free: 1 << 30}}
	big := &Host{Name: "big", Agent: &infoAgent{free: 8 << 30}}
	dead := &Host{Name: "dead", Agent: &infoAgent{err: connect.NewError(connect.CodeUnavailable, errors.New("connection refused"))}}
	r, err := New(nil, small, dead, big)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if h, err := r.pick(ctx); err != nil || h != big {
		t.Fatalf("pick = %v, %v; want big (most free memory)", h, err)
	}
	r.running["big"] = 1
	if h, _ := r.pick(ctx); h != small {
		t.Fatalf("pick with big busy = %v, want small (fewest running)", h.Name)
	}
	if _, isDown := r.down["dead"]; !isDown {
		t.Error("an agent whose Info failed is not marked down")
	}
	r2, _ := New(nil, dead)
	if _, err := r2.pick(ctx); err == nil || err.Error() != "no agent is answering (1 configured)" {
		t.Errorf("pick with every agent down: %v", err)
	}
}
