package executor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	pb "wrenn.dev/wrenn/proto/hostagent/v1"
)

// finalize launches START (after the last commit, since a commit restarts
// the sandbox's processes), waits for the healthcheck, and stores the
// template: a snapshot when a healthcheck passed, a flattened rootfs
// otherwise, as the seed does. The final key is recorded last.
func (b *builder) finalize(ctx context.Context, sb *sandbox, res *Result) error {
	r := b.plan.Result
	if r.StartScript != "" {
		out, err := b.exec(ctx, sb.id, r.StartScript, 10*time.Second)
		if err != nil {
			return fmt.Errorf("start: %w", err)
		}
		if out.ExitCode != 0 {
			msg := strings.TrimSpace(string(out.Stderr))
			if msg == "" {
				msg = fmt.Sprintf("exit code %d", out.ExitCode)
			}
			return fmt.Errorf("start failed: %s", msg)
		}
	}
	var size int64
	if r.Healthcheck != nil {
		b.emit(Event{Type: "info", Message: "waiting for healthcheck: " + r.Healthcheck.Cmd})
		if err := waitForHealthcheck(ctx, b.req.Agent, sb.id, r.Healthcheck); err != nil {
			return err
		}
		resp, err := b.req.Agent.CreateSnapshot(ctx, connect.NewRequest(&pb.CreateSnapshotRequest{SandboxId: sb.id, Name: b.name}))
		if err != nil {
			return fmt.Errorf("create snapshot: %w", err)
		}
		size = resp.Msg.SizeBytes
	} else {
		resp, err := b.req.Agent.FlattenRootfs(ctx, connect.NewRequest(&pb.FlattenRootfsRequest{SandboxId: sb.id, Name: b.name}))
		if err != nil {
			return fmt.Errorf("flatten rootfs: %w", err)
		}
		size = resp.Msg.SizeBytes
	}
	sb.id = "" // both end the sandbox
	res.SizeBytes = size
	rec := cache.Record{
		Key:       b.plan.FinalKey().String(),
		Snapshot:  cache.SnapshotRef{Agent: b.facts.id, ID: b.name, Kind: cache.KindSnapshot},
		Text:      "RESULT " + res.Type,
		Preimage:  b.plan.Result.Preimage,
		SizeBytes: size,
		Template:  b.name,
	}
	if n := len(b.plan.Steps); n > 0 {
		rec.Parents = []string{b.plan.Steps[n-1].Key.String()}
	}
	if err := b.req.Store.Put(ctx, rec); err != nil {
		return fmt.Errorf("record result: %w", err)
	}
	return nil
}

// waitForHealthcheck is the seed's loop: the first probe after one
// interval, failures counted only after the start period, at most retries
// of them (0: unlimited), and a deadline of start period + (retries+1)
// intervals when retries are limited. The probe runs as the default user
// (Healthcheck.Script is wrapped for it).
func waitForHealthcheck(ctx context.Context, a HostAgent, sandboxID string, hc *compiler.Healthcheck) error {
	ticker := time.NewTicker(hc.Interval)
	defer ticker.Stop()
	var deadlineCh <-chan time.Time
	if hc.Retries > 0 {
		deadline := time.NewTimer(hc.StartPeriod + time.Duration(hc.Retries+1)*hc.Interval)
		defer deadline.Stop()
		deadlineCh = deadline.C
	}
	startedAt := time.Now()
	failCount := 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadlineCh:
			return fmt.Errorf("healthcheck timed out: exceeded %d attempts over %s", failCount, time.Since(startedAt))
		case <-ticker.C:
			execCtx, cancel := context.WithTimeout(ctx, hc.Timeout)
			resp, err := a.Exec(execCtx, connect.NewRequest(&pb.ExecRequest{
				SandboxId: sandboxID, Cmd: "/bin/sh", Args: []string{"-c", hc.Script}, TimeoutSec: timeoutSec(hc.Timeout),
			}))
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if time.Since(startedAt) >= hc.StartPeriod {
					failCount++
					if hc.Retries > 0 && failCount >= hc.Retries {
						return fmt.Errorf("healthcheck failed after %d retries: exec error: %w", failCount, err)
					}
				}
				continue
			}
			if resp.Msg.ExitCode == 0 {
				return nil
			}
			if time.Since(startedAt) >= hc.StartPeriod {
				failCount++
				if hc.Retries > 0 && failCount >= hc.Retries {
					return fmt.Errorf("healthcheck failed after %d retries: exit code %d", failCount, resp.Msg.ExitCode)
				}
			}
		}
	}
}
