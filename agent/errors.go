package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	"connectrpc.com/connect"
)

// connectError maps a backend error to the connect code a client can act on:
// the sentinels in backend.go keep their meaning across the wire.
func connectError(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	return connect.NewError(codeOf(err), err)
}

func codeOf(err error) connect.Code {
	switch {
	case errors.Is(err, ErrNotFound):
		return connect.CodeNotFound
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrPathEscape):
		return connect.CodeInvalidArgument
	case errors.Is(err, ErrInUse), errors.Is(err, ErrExists):
		return connect.CodeFailedPrecondition
	case errors.Is(err, ErrUnimplemented):
		return connect.CodeUnimplemented
	// A backend that passes a file system error through still tells the
	// caller whether the path was missing or unusable.
	case errors.Is(err, fs.ErrNotExist):
		return connect.CodeNotFound
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.ENAMETOOLONG):
		return connect.CodeInvalidArgument
	case errors.Is(err, context.Canceled):
		return connect.CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return connect.CodeDeadlineExceeded
	}
	return connect.CodeInternal
}

// pathError makes sure an error about a request path names the path, so an
// escape attempt reports what escaped even if the backend did not say.
func pathError(path string, err error) error {
	if err == nil || strings.Contains(err.Error(), path) {
		return err
	}
	return fmt.Errorf("%q: %w", path, err)
}

func invalid(format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(format, args...))
}

// IsNotFound reports whether err (from a client call) means the sandbox,
// layer or template does not exist.
func IsNotFound(err error) bool { return connect.CodeOf(err) == connect.CodeNotFound }

// IsUnimplemented reports whether err (from a client call) means the agent
// does not support the call, e.g. a production agent without LayerService.
func IsUnimplemented(err error) bool { return connect.CodeOf(err) == connect.CodeUnimplemented }

// IsInUse reports whether err (from a client call) means something still
// depends on what was to be deleted.
func IsInUse(err error) bool { return connect.CodeOf(err) == connect.CodeFailedPrecondition }

// checkID rejects identifiers that could not name a sandbox or layer. The
// backend validates too; checking here keeps separators and NULs out of
// every backend's path handling.
func checkID(what, id string) error {
	if id == "" {
		return invalid("%s is required", what)
	}
	if len(id) > 128 {
		return invalid("%s is longer than 128 bytes", what)
	}
	if id == "." || id == ".." {
		return invalid("%s %q is not a valid id", what, id)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':'
		if !ok {
			return invalid("%s %q has %q: ids use letters, digits and - _ . :", what, id, r)
		}
	}
	return nil
}
