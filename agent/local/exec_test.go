package local

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"wrenn.dev/wrenn/agent"
)

func TestExecOutputAndExitCodes(t *testing.T) {
	b := newTestBackend(t)
	id := newSandbox(t, b, agent.SandboxSpec{DefaultEnv: map[string]string{"GREETING": "hello world"}})
	tests := []struct {
		line           string
		stdout, stderr string
		code           int
	}{
		{"echo out; echo err >&2", "out\n", "err\n", 0},
		{"exit 7", "", "", 7},
		{"kill -9 $$", "", "", 137},
		{"echo $GREETING $HOME $WRENN_SANDBOX_ID", "hello world /root " + id + "\n", "", 0},
		{"pwd; id -u", "/\n0\n", "", 0},
	}
	for _, tc := range tests {
		out, errs, code := run(t, b, id, tc.line, 0)
		if out != tc.stdout || errs != tc.stderr || code != tc.code {
			t.Errorf("%q: got (%q, %q, %d), want (%q, %q, %d)", tc.line, out, errs, code, tc.stdout, tc.stderr, tc.code)
		}
	}

	var pid int
	var out, errb bytes.Buffer
	code, err := b.Exec(context.Background(), id, agent.ExecSpec{Cmd: "/bin/sh", Args: []string{"-c", "sleep 0.2; echo $$"}}, &out, &errb, func(p int) { pid = p })
	if err != nil || code != 0 {
		t.Fatalf("exec: %d %v", code, err)
	}
	if got, _ := strconv.Atoi(strings.TrimSpace(out.String())); pid == 0 || got != pid {
		t.Errorf("started reported pid %d; the process says it is %s", pid, out.String())
	}

	out.Reset()
	errb.Reset()
	code, err = b.Exec(context.Background(), id, agent.ExecSpec{Cmd: "no-such-command"}, &out, &errb, nil)
	if err != nil || code != 127 || !strings.Contains(errb.String(), "no-such-command: command not found") {
		t.Errorf("missing command: code %d err %v stderr %q; want 127 and a note", code, err, errb.String())
	}

	if _, err := b.Exec(context.Background(), "nope", agent.ExecSpec{Cmd: "true"}, nil, nil, nil); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("exec in unknown sandbox: %v, want ErrNotFound", err)
	}
}

func TestExecTimeoutKillsProcessTree(t *testing.T) {
	b := newTestBackend(t)
	id := newSandbox(t, b, agent.SandboxSpec{})
	start := time.Now()
	out, errs, code := run(t, b, id, "sleep 100 & echo $! > /tmp/child; (sleep 101 &); echo started; sleep 102", time.Second)
	if code != TimeoutExitCode {
		t.Fatalf("exit code %d, want %d (stdout %q stderr %q)", code, TimeoutExitCode, out, errs)
	}
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("timed-out exec took %s", elapsed)
	}
	if out != "started\n" || !strings.Contains(errs, "timed out after 1s") {
		t.Errorf("stdout %q stderr %q", out, errs)
	}
	// no sleep of the tree survives: not the background child, not the
	// double-forked one, not the foreground one
	ps := mustRun(t, b, id, "for p in /proc/[0-9]*; do cat $p/cmdline 2>/dev/null | tr '\\0' ' '; echo; done")
	for _, n := range []string{"sleep 100", "sleep 101", "sleep 102"} {
		if strings.Contains(ps, n) {
			t.Errorf("%q still runs after the timeout:\n%s", n, ps)
		}
	}
	// the sandbox still works
	if got := mustRun(t, b, id, "echo ok"); got != "ok\n" {
		t.Errorf("after timeout: %q", got)
	}
}

func TestExecContextCancelKillsProcess(t *testing.T) {
	b := newTestBackend(t)
	id := newSandbox(t, b, agent.SandboxSpec{})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := b.Exec(ctx, id, agent.ExecSpec{Cmd: "/bin/sh", Args: []string{"-c", "sleep 200"}}, nil, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the context's", err)
	}
	if ps := mustRun(t, b, id, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"); strings.Contains(ps, "sleep 200") {
		t.Errorf("sleep 200 survives the cancelled exec: %s", ps)
	}
}

func TestBackgroundProcessSurvivesExec(t *testing.T) {
	b := newTestBackend(t)
	id := newSandbox(t, b, agent.SandboxSpec{})
	// the executor's START form
	start := "nohup /bin/sh -c 'echo $$ > /tmp/bg.pid; exec sleep 1000' >/dev/null 2>&1 &"
	if _, errs, code := run(t, b, id, start, 10*time.Second); code != 0 {
		t.Fatalf("start: %d %s", code, errs)
	}
	// the exec has returned; the process it left must live on
	got := ""
	for i := 0; i < 100 && got != "sleep 1000 "; i++ {
		time.Sleep(50 * time.Millisecond)
		got, _, _ = run(t, b, id, "kill -0 $(cat /tmp/bg.pid) && cat /proc/$(cat /tmp/bg.pid)/cmdline | tr '\\0' ' '", 0)
	}
	if got != "sleep 1000 " {
		t.Errorf("background process: %q", got)
	}
	sb, _ := b.get(id)
	if len(sb.starts) != 1 || sb.starts[0].Args[1] != start {
		t.Errorf("recorded START commands: %+v", sb.starts)
	}
}

func TestNetworkNone(t *testing.T) {
	b := newTestBackend(t)
	b.network = NetworkNone
	id := newSandbox(t, b, agent.SandboxSpec{})
	out := mustRun(t, b, id, "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '")
	if out != "lo\n" {
		t.Errorf("interfaces in a none-network sandbox: %q, want only lo", out)
	}
}

func TestBusyboxBaseUsers(t *testing.T) {
	b := newTestBackend(t)
	id := newSandbox(t, b, agent.SandboxSpec{})
	got := mustRun(t, b, id, "adduser --disabled-password --gecos '' --shell /bin/bash wrenn-user && "+
		"echo 'wrenn-user ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/wrenn-user && "+
		"su 'wrenn-user' -s /bin/sh -c 'id -un; echo $HOME; cd && touch mine' && ls -ln /home/wrenn-user/mine | awk '{print $3}' && "+
		"adduser -D second && addgroup extra && addgroup second extra && id -Gn second && bash -c 'echo via-bash'")
	if got != "wrenn-user\n/home/wrenn-user\n1000\nsecond extra\nvia-bash\n" {
		t.Errorf("busybox user handling: %q", got)
	}
	if _, errs, code := run(t, b, id, "adduser wrenn-user", 0); code == 0 || !strings.Contains(errs, "already exists") {
		t.Errorf("adding a user twice: %d %q", code, errs)
	}
}
