package service

import (
	"context"
	"net"
	"net/http"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/proto/wrenn/build/v1/buildv1connect"
)

// NewClient returns a BuildService client for baseURL (http://host:port,
// h2c) sending token as a bearer token when non-empty.
func NewClient(baseURL, token string) buildv1connect.BuildServiceClient {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{
		Protocols:   &p,
		DialContext: (&net.Dialer{}).DialContext,
	}}
	var opts []connect.ClientOption
	if token != "" {
		opts = append(opts, connect.WithInterceptors(authInterceptor(token)))
	}
	return buildv1connect.NewBuildServiceClient(hc, baseURL, opts...)
}

type authInterceptor string

func (a authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", bearer(string(a)))
		return next(ctx, req)
	}
}

func (a authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", bearer(string(a)))
		return conn
	}
}

func (a authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
