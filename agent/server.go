package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/proto/hostagent/v1/hostagentv1connect"
	"wrenn.dev/wrenn/proto/wrenn/agent/v1/agentv1connect"
)

// NewServer returns an http.Handler serving hostagent.v1.HostAgentService
// and (unless WithoutLayerService) wrenn.agent.v1.LayerService over b. It
// speaks the connect, gRPC and gRPC-Web protocols with binary or JSON
// messages; serve it with an http.Server that allows HTTP/1.1 and h2c
// (NewHTTPServer does) so that streaming calls work too.
func NewServer(b Backend, opts ...Option) http.Handler {
	o := newOptions(opts)
	var interceptors []connect.Interceptor
	interceptors = append(interceptors, logInterceptor{o.logger})
	if o.token != "" {
		interceptors = append(interceptors, newAuthInterceptor(o.token))
	}
	mux := http.NewServeMux()
	// The envelope around WriteFile's content is small; 1 MiB of slack lets
	// the handler itself reject an oversized file with a clear message.
	hostMax := o.maxWriteFileBytes + 1<<20
	path, h := hostagentv1connect.NewHostAgentServiceHandler(&hostAgentServer{b: b, o: o},
		connect.WithInterceptors(interceptors...),
		connect.WithCompressMinBytes(compressMinBytes),
		connect.WithReadMaxBytes(int(min(hostMax, int64(^uint32(0)>>1)))))
	mux.Handle(path, h)
	if o.layerService {
		id := o.agentID
		if id == "" {
			if ider, ok := b.(interface{ AgentID() string }); ok {
				id = ider.AgentID()
			}
		}
		if id == "" {
			id = randomID()
		}
		path, h := agentv1connect.NewLayerServiceHandler(&layerServer{b: b, o: o, id: id},
			connect.WithInterceptors(interceptors...),
			connect.WithCompressMinBytes(compressMinBytes),
			connect.WithReadMaxBytes(4*maxChunkBytes))
		mux.Handle(path, h)
	}
	return mux
}

// compressMinBytes: a smaller response goes uncompressed even to a client
// that accepts gzip. Every build step's answers (Exec, CommitLayer) are a
// few hundred bytes, which gzip does not shrink and costs a compressor
// reset for each.
const compressMinBytes = 4 << 10

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// logInterceptor logs calls that fail for reasons other than the caller's,
// which an operator of `wrenn agent serve` needs to see.
type logInterceptor struct {
	log interface{ Error(string, ...any) }
}

func (l logInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		resp, err := next(ctx, req)
		l.report(req.Spec().Procedure, err)
		return resp, err
	}
}

func (l logInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (l logInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		err := next(ctx, conn)
		l.report(conn.Spec().Procedure, err)
		return err
	}
}

func (l logInterceptor) report(procedure string, err error) {
	var ce *connect.Error
	if err == nil || (errors.As(err, &ce) && ce.Code() != connect.CodeInternal && ce.Code() != connect.CodeUnknown) {
		return
	}
	l.log.Error("call failed", "procedure", procedure, "error", err)
}
