package agent

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"

	"connectrpc.com/connect"

	agentpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
)

// DefaultCapabilities are what an agent with a full Backend offers. A
// backend that lacks some reports its own with a Capabilities() []string
// method.
var DefaultCapabilities = []string{"layers", "layer-export", "layer-import", "snapshot", "flatten", "exec-stream"}

// Info reports the agent's identity, capabilities and load; the load lets a
// scheduler pick the agent with the most room.
func (s *layerServer) Info(ctx context.Context, _ *connect.Request[agentpb.InfoRequest]) (*connect.Response[agentpb.InfoResponse], error) {
	caps := DefaultCapabilities
	if c, ok := s.b.(interface{ Capabilities() []string }); ok {
		caps = c.Capabilities()
	}
	list, err := s.b.ListSandboxes(ctx)
	if err != nil {
		return nil, connectError(err)
	}
	host, _ := os.Hostname()
	total, avail := memInfo()
	return connect.NewResponse(&agentpb.InfoResponse{
		AgentId:              s.id,
		Capabilities:         caps,
		Version:              s.o.version,
		Hostname:             host,
		RunningSandboxes:     int32(len(list)),
		Cpus:                 int32(runtime.NumCPU()),
		MemoryTotalBytes:     total,
		MemoryAvailableBytes: avail,
	}), nil
}

// memInfo reads MemTotal and MemAvailable from /proc/meminfo (0 when it
// cannot be read).
func memInfo() (total, avail int64) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(string(f[1]), 10, 64)
		if err != nil {
			continue
		}
		switch string(f[0]) {
		case "MemTotal:":
			total = kb << 10
		case "MemAvailable:":
			avail = kb << 10
		}
	}
	return total, avail
}
