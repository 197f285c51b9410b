package local

import "wrenn.dev/wrenn/agent"

var (
	errNotFound = agent.ErrNotFound
	errInvalid  = agent.ErrInvalid
	errInUse    = agent.ErrInUse
)
