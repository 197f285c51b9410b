package agent

import (
	"bufio"
	"context"
	"errors"
	"io"

	"connectrpc.com/connect"

	agentpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
)

// ExportLayer sends the layer's description, then its tar stream in chunks
// of at most maxChunkBytes (small backend writes are coalesced).
func (s *layerServer) ExportLayer(ctx context.Context, req *connect.Request[agentpb.ExportLayerRequest], stream *connect.ServerStream[agentpb.ExportLayerResponse]) error {
	if err := checkID("layer_id", req.Msg.LayerId); err != nil {
		return err
	}
	l, err := s.b.Layer(ctx, req.Msg.LayerId)
	if err != nil {
		return connectError(err)
	}
	if err := stream.Send(&agentpb.ExportLayerResponse{Msg: &agentpb.ExportLayerResponse_Header{Header: layerMsg(l)}}); err != nil {
		return err
	}
	w := bufio.NewWriterSize(chunkSender{stream}, maxChunkBytes)
	if err := s.b.ExportLayer(ctx, req.Msg.LayerId, w); err != nil {
		return connectError(err)
	}
	return w.Flush()
}

type chunkSender struct {
	stream *connect.ServerStream[agentpb.ExportLayerResponse]
}

func (c chunkSender) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		n := min(len(rest), maxChunkBytes)
		if err := c.stream.Send(&agentpb.ExportLayerResponse{Msg: &agentpb.ExportLayerResponse_Chunk{Chunk: rest[:n]}}); err != nil {
			return len(p) - len(rest), err
		}
		rest = rest[n:]
	}
	return len(p), nil
}

// ImportLayer reads the header, then feeds the chunks to the backend through
// a pipe as they arrive, so a layer never has to fit in memory.
func (s *layerServer) ImportLayer(ctx context.Context, stream *connect.ClientStream[agentpb.ImportLayerRequest]) (*connect.Response[agentpb.ImportLayerResponse], error) {
	hdr, err := firstHeader(stream, (*agentpb.ImportLayerRequest).GetHeader)
	if err != nil {
		return nil, err
	}
	if hdr.Parent != "" {
		if err := checkID("parent", hdr.Parent); err != nil {
			return nil, err
		}
	}
	if hdr.Digest == "" {
		return nil, invalid("header.digest is required")
	}
	l, err := feedBackend(ctx, stream, func(m *agentpb.ImportLayerRequest) ([]byte, bool) {
		return m.GetChunk(), m.GetHeader() != nil
	}, func(ctx context.Context, r io.Reader) (LayerInfo, error) {
		return s.b.ImportLayer(ctx, hdr.Parent, hdr.Digest, r)
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&agentpb.ImportLayerResponse{Layer: layerMsg(l)}), nil
}

// ExtractTar reads the header, then feeds the chunks to the backend's
// extraction through a pipe as they arrive.
func (s *layerServer) ExtractTar(ctx context.Context, stream *connect.ClientStream[agentpb.ExtractTarRequest]) (*connect.Response[agentpb.ExtractTarResponse], error) {
	hdr, err := firstHeader(stream, (*agentpb.ExtractTarRequest).GetHeader)
	if err != nil {
		return nil, err
	}
	if err := checkID("sandbox_id", hdr.SandboxId); err != nil {
		return nil, err
	}
	if hdr.Path == "" {
		return nil, invalid("header.path is required")
	}
	n, err := feedBackend(ctx, stream, func(m *agentpb.ExtractTarRequest) ([]byte, bool) {
		return m.GetChunk(), m.GetHeader() != nil
	}, func(ctx context.Context, r io.Reader) (int64, error) {
		n, err := s.b.ExtractTar(ctx, hdr.SandboxId, ExtractSpec{Dir: hdr.Path, Absent: hdr.Absent, ExtractionTimes: hdr.ExtractionTimes}, r)
		if err == nil {
			// the rest of the stream (a tar's zero padding) is not needed
			_, _ = io.Copy(io.Discard, r)
		}
		return n, err
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&agentpb.ExtractTarResponse{Entries: n}), nil
}

// firstHeader receives a client stream's first message, which must be a
// header (get returns it, or nil for a chunk).
func firstHeader[M, H any](stream *connect.ClientStream[M], get func(*M) *H) (*H, error) {
	if !stream.Receive() {
		if err := stream.Err(); err != nil {
			return nil, err
		}
		return nil, invalid("empty stream: the first message must be a header")
	}
	h := get(stream.Msg())
	if h == nil {
		return nil, invalid("the first message must be a header")
	}
	return h, nil
}

// feedBackend runs consume on a pipe fed with the chunks of the stream's
// messages after its header (next gives a message's chunk, and whether it
// is a header, which is an error there), as they arrive. A broken stream
// cancels consume; consume's error is the call's.
func feedBackend[M, R any](ctx context.Context, stream *connect.ClientStream[M], next func(*M) ([]byte, bool), consume func(context.Context, io.Reader) (R, error)) (R, error) {
	var zero R
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	type result struct {
		v   R
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := consume(ctx, pr)
		pr.CloseWithError(errors.New("the backend stopped reading"))
		done <- result{v, err}
	}()
	feedErr := func() error {
		for stream.Receive() {
			chunk, header := next(stream.Msg())
			if header {
				return invalid("a second header after the first")
			}
			if _, err := pw.Write(chunk); err != nil {
				return nil // the backend is done; its result says why
			}
		}
		return stream.Err()
	}()
	if feedErr != nil {
		pw.CloseWithError(feedErr)
		cancel()
		<-done
		return zero, feedErr
	}
	pw.Close()
	res := <-done
	if res.err != nil {
		return zero, connectError(res.err)
	}
	return res.v, nil
}
