package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/proto/hostagent/v1/hostagentv1connect"
	"wrenn.dev/wrenn/proto/wrenn/agent/v1/agentv1connect"
)

// Client is a connection to a host agent. It embeds both generated clients,
// so it has every RPC of hostagent.v1 and wrenn.agent.v1 as a method and
// satisfies any subset interface a consumer declares.
type Client struct {
	hostagentv1connect.HostAgentServiceClient
	agentv1connect.LayerServiceClient

	// URL is the address dialled.
	URL string

	transport *http.Transport
}

// DialOption tunes Dial.
type DialOption func(*dialOptions)

type dialOptions struct {
	clientOpts []connect.ClientOption
	http1      bool
}

// WithGRPC makes the client speak gRPC instead of the connect protocol.
func WithGRPC() DialOption {
	return func(o *dialOptions) { o.clientOpts = append(o.clientOpts, connect.WithGRPC()) }
}

// WithGRPCWeb makes the client speak gRPC-Web.
func WithGRPCWeb() DialOption {
	return func(o *dialOptions) { o.clientOpts = append(o.clientOpts, connect.WithGRPCWeb()) }
}

// WithJSON sends JSON instead of binary protobuf.
func WithJSON() DialOption {
	return func(o *dialOptions) { o.clientOpts = append(o.clientOpts, connect.WithProtoJSON()) }
}

// WithHTTP1 uses HTTP/1.1 instead of h2c (server streaming still works with
// the connect protocol; gRPC needs HTTP/2).
func WithHTTP1() DialOption { return func(o *dialOptions) { o.http1 = true } }

// WithClientOptions passes further connect options (interceptors, ...).
func WithClientOptions(opts ...connect.ClientOption) DialOption {
	return func(o *dialOptions) { o.clientOpts = append(o.clientOpts, opts...) }
}

// Dial returns a client for the agent at rawURL: http://host:port (h2c),
// https://host:port, or unix:///path/to/socket. A non-empty token is sent as
// a bearer token with every call. Dial does not connect; the first call does.
func Dial(rawURL, token string, opts ...DialOption) (*Client, error) {
	var o dialOptions
	for _, f := range opts {
		f(&o)
	}
	tr := &http.Transport{
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
	}
	var p http.Protocols
	base := rawURL
	switch {
	case strings.HasPrefix(rawURL, "unix://"):
		path := strings.TrimPrefix(rawURL, "unix://")
		if path == "" {
			return nil, fmt.Errorf("agent url %q has no socket path", rawURL)
		}
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		}
		base = "http://agent.sock"
		setPlain(&p, o.http1)
	case strings.HasPrefix(rawURL, "http://"):
		setPlain(&p, o.http1)
	case strings.HasPrefix(rawURL, "https://"):
		p.SetHTTP1(true)
		p.SetHTTP2(!o.http1)
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	default:
		return nil, fmt.Errorf("agent url %q: want http://host:port, https://host:port or unix:///path", rawURL)
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("agent url %q: %w", rawURL, err)
	}
	tr.Protocols = &p
	hc := &http.Client{Transport: tr}
	copts := append([]connect.ClientOption(nil), o.clientOpts...)
	if token != "" {
		copts = append(copts, connect.WithInterceptors(bearerInterceptor{"Bearer " + token}))
	}
	base = strings.TrimRight(base, "/")
	return &Client{
		HostAgentServiceClient: hostagentv1connect.NewHostAgentServiceClient(hc, base, copts...),
		LayerServiceClient:     agentv1connect.NewLayerServiceClient(hc, base, copts...),
		URL:                    rawURL,
		transport:              tr,
	}, nil
}

func setPlain(p *http.Protocols, http1 bool) {
	if http1 {
		p.SetHTTP1(true)
	} else {
		p.SetUnencryptedHTTP2(true)
	}
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.transport.CloseIdleConnections()
	return nil
}
