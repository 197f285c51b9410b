package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/agent"
	pb "wrenn.dev/wrenn/proto/hostagent/v1"
)

// exportTar is the root filesystem of a template as a tar, made inside a
// sandbox on it (no proto change needed: the agent's Exec and ReadFile
// carry it). Kernel filesystems and the tar itself are left out.
func exportTar(ctx context.Context, c *agent.Client, template string) ([]byte, error) {
	sb, err := c.CreateSandbox(ctx, connect.NewRequest(&pb.CreateSandboxRequest{Template: template}))
	if err != nil {
		return nil, fmt.Errorf("export: sandbox on %q: %w", template, err)
	}
	id := sb.Msg.SandboxId
	defer func() {
		_, _ = c.DestroySandbox(context.WithoutCancel(ctx), connect.NewRequest(&pb.DestroySandboxRequest{SandboxId: id}))
	}()
	const out = "/tmp/.wrenn-export.tar"
	// busybox tar has no --exclude: name the top-level entries instead;
	// both tars skip the archive itself.
	script := "cd / && tar cf " + out + " $(ls -A / | grep -vxE 'proc|sys|dev')"
	r, err := c.Exec(ctx, connect.NewRequest(&pb.ExecRequest{SandboxId: id, Cmd: "/bin/sh", Args: []string{"-c", script}, TimeoutSec: 600}))
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if r.Msg.ExitCode != 0 {
		return nil, fmt.Errorf("export: tar exited %d: %s", r.Msg.ExitCode, strings.TrimSpace(string(r.Msg.Stderr)))
	}
	data, err := c.ReadFile(ctx, connect.NewRequest(&pb.ReadFileRequest{SandboxId: id, Path: out}))
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return data.Msg.Content, nil
}

// writeExport writes the tar to dst by its form: *.tar as is, *.ext4 as a
// filesystem image made with mkfs.ext4 -d, anything else as a directory.
func writeExport(ctx context.Context, data []byte, dst string) error {
	switch {
	case strings.HasSuffix(dst, ".tar"):
		return os.WriteFile(dst, data, 0o644)
	case strings.HasSuffix(dst, ".ext4"):
		tmp, err := os.MkdirTemp(filepath.Dir(dst), ".wrenn-export-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := untar(ctx, data, tmp); err != nil {
			return err
		}
		for _, d := range []string{"proc", "sys", "dev"} {
			_ = os.MkdirAll(filepath.Join(tmp, d), 0o755)
		}
		size := int64(len(data))*3/2 + 32<<20
		_ = os.Remove(dst)
		cmd := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-d", tmp, dst, strconv.FormatInt(size/1024, 10)+"k")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("mkfs.ext4: %v: %s", err, bytes.TrimSpace(out))
		}
		return nil
	default:
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		return untar(ctx, data, dst)
	}
}

func untar(ctx context.Context, data []byte, dir string) error {
	cmd := exec.CommandContext(ctx, "tar", "xpf", "-", "--same-owner", "--numeric-owner", "-C", dir)
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("extract export: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}
