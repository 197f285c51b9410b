package cli

import (
	"context"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/agent/local"
)

// startEmbeddedAgent runs the local overlayfs+runc agent under root, with
// the OCI runtime rt (runc or crun, see --runtime), in this process and
// serves it on a private unix socket, so the cache commands drive it
// through the same connect client as a remote agent. stop shuts the server
// down and closes the backend (releasing root).
func startEmbeddedAgent(ctx context.Context, root, rt string) (url string, stop func(), err error) {
	b, err := local.New(local.Options{Root: root, Runtime: rt})
	if err != nil {
		return "", nil, err
	}
	url, stopServer, err := agent.ServeEmbedded(ctx, b)
	if err != nil {
		_ = b.Close(context.WithoutCancel(ctx))
		return "", nil, err
	}
	return url, func() {
		stopServer()
		_ = b.Close(context.WithoutCancel(ctx))
	}, nil
}
