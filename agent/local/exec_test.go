package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"wrenn.dev/wrenn/agent"
)

func TestExecOutputAndExitCodes(t *testing.T) { eachRuntime(t, testExecOutputAndExitCodes) }

func testExecOutputAndExitCodes(t *testing.T, b *Backend) {
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

// execModes are the two ways an Exec runs: a one-shot container (no START
// yet) and `runc exec` in the long-lived container a START leaves running.
var execModes = []struct {
	name  string
	setup func(t *testing.T, b *Backend, id string)
}{
	{"one-shot", func(t *testing.T, b *Backend, id string) {}},
	{"after START", func(t *testing.T, b *Backend, id string) {
		if _, errs, code := run(t, b, id, "nohup sleep 977 >/dev/null 2>&1 &", 10*time.Second); code != 0 {
			t.Fatalf("start: %d %s", code, errs)
		}
	}},
}

// hostProcesses lists the command lines of the host's live processes that
// contain one of the needles (zombies excluded).
func hostProcesses(needles ...string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		st, _ := os.ReadFile("/proc/" + e.Name() + "/status")
		if strings.Contains(string(st), "State:\tZ") {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		line := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		for _, n := range needles {
			if strings.Contains(line, n) {
				out = append(out, e.Name()+": "+line)
			}
		}
	}
	return out
}

// waitNoHostProcesses waits briefly for the needles' processes to go.
func waitNoHostProcesses(t *testing.T, needles ...string) {
	t.Helper()
	var left []string
	for i := 0; i < 100; i++ {
		if left = hostProcesses(needles...); len(left) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("still running: %v", left)
}

func TestExecTimeoutKillsProcessTree(t *testing.T) {
	for i, mode := range execModes {
		t.Run(mode.name, func(t *testing.T) {
			eachRuntime(t, func(t *testing.T, b *Backend) {
				id := newSandbox(t, b, agent.SandboxSpec{})
				mode.setup(t, b, id)
				// numbers no other test uses, to find them on the host
				bg, esc, fg := fmt.Sprintf("sleep 9%d1", i), fmt.Sprintf("sleep 9%d2", i), fmt.Sprintf("sleep 9%d3", i)
				// in a one-shot container even a process that escaped with
				// setsid and a double fork ends; in the long-lived container it
				// would live on (and hold runc exec's output pipes)
				escape := "(" + esc + " &)"
				if mode.name == "one-shot" {
					escape = "(setsid " + esc + " &)"
				}
				start := time.Now()
				line := bg + " & " + escape + "; echo started; " + fg
				out, errs, code := run(t, b, id, line, time.Second)
				if code != TimeoutExitCode {
					t.Fatalf("exit code %d, want %d (stdout %q stderr %q)", code, TimeoutExitCode, out, errs)
				}
				if elapsed := time.Since(start); elapsed > 20*time.Second {
					t.Errorf("timed-out exec took %s", elapsed)
				}
				if out != "started\n" || !strings.Contains(errs, "timed out after 1s") {
					t.Errorf("stdout %q stderr %q", out, errs)
				}
				// no sleep of the tree survives: not the background child,
				// not the double-forked one, not the foreground one
				waitNoHostProcesses(t, bg, esc, fg)
				// the sandbox still works
				if got := mustRun(t, b, id, "echo ok"); got != "ok\n" {
					t.Errorf("after timeout: %q", got)
				}
			})
		})
	}
}

func TestExecContextCancelKillsProcess(t *testing.T) {
	for i, mode := range execModes {
		t.Run(mode.name, func(t *testing.T) {
			eachRuntime(t, func(t *testing.T, b *Backend) {
				id := newSandbox(t, b, agent.SandboxSpec{})
				mode.setup(t, b, id)
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				defer cancel()
				sleep := fmt.Sprintf("sleep 8%d4", i)
				_, err := b.Exec(ctx, id, agent.ExecSpec{Cmd: "/bin/sh", Args: []string{"-c", sleep}}, nil, nil, nil)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err %v, want the context's", err)
				}
				waitNoHostProcesses(t, sleep)
			})
		})
	}
}

// TestOneShotExec: without a START, an Exec leaves nothing running: its
// background processes end with it, no container is left, and the
// command sees exactly the sandbox's environment and its own argv[0].
func TestOneShotExec(t *testing.T) { eachRuntime(t, testOneShotExec) }

func testOneShotExec(t *testing.T, b *Backend) {
	id := newSandbox(t, b, agent.SandboxSpec{DefaultEnv: map[string]string{"A": "it's"}})
	if got := mustRun(t, b, id, "sleep 871 & echo $! > /tmp/bg; echo done"); got != "done\n" {
		t.Errorf("stdout %q", got)
	}
	waitNoHostProcesses(t, "sleep 871")
	if out, err := b.runtimeCmd("", "list", "-q").Output(); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("containers after an exec: %q %v", out, err)
	}

	var out bytes.Buffer
	if code, err := b.Exec(context.Background(), id, agent.ExecSpec{Cmd: "env"}, &out, nil, nil); err != nil || code != 0 {
		t.Fatalf("env: %d %v", code, err)
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	sort.Strings(got)
	tmpl, err := b.findTemplate(agent.TemplateRef{Name: "minimal"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=it's", "HOME=/root", defaultPath, "WRENN_SANDBOX_ID=" + id, "WRENN_TEMPLATE_ID=" + tmpl.ID}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("env:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	out.Reset()
	if code, err := b.Exec(context.Background(), id, agent.ExecSpec{Cmd: "sh", Args: []string{"-c", "echo $0 $#"}}, &out, nil, nil); err != nil || code != 0 || out.String() != "sh 0\n" {
		t.Errorf("argv[0]: %q %d %v", out.String(), code, err)
	}

	// a file without an execute bit, and a directory: 126
	if err := b.WriteFile(context.Background(), id, "/tool.sh", []byte("#!/bin/sh\necho hi\n")); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"/tool.sh", "/tmp"} {
		var errb bytes.Buffer
		code, err := b.Exec(context.Background(), id, agent.ExecSpec{Cmd: cmd}, nil, &errb, nil)
		if err != nil || code != 126 || errb.String() != cmd+": permission denied\n" {
			t.Errorf("%s: code %d err %v stderr %q; want 126", cmd, code, err, errb.String())
		}
	}
	mustRun(t, b, id, "chmod +x /tool.sh")
	out.Reset()
	if code, err := b.Exec(context.Background(), id, agent.ExecSpec{Cmd: "/tool.sh"}, &out, nil, nil); err != nil || code != 0 || out.String() != "hi\n" {
		t.Errorf("/tool.sh: %q %d %v", out.String(), code, err)
	}
}

func TestBackgroundProcessSurvivesExec(t *testing.T) {
	eachRuntime(t, testBackgroundProcessSurvivesExec)
}

func testBackgroundProcessSurvivesExec(t *testing.T, b *Backend) {
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
	// in the long-lived container too, a missing command is answered
	// before the runtime runs (a failed `crun exec` leaves a zombie that
	// delays the container's stop)
	var errb bytes.Buffer
	code, err := b.Exec(context.Background(), id, agent.ExecSpec{Cmd: "no-such-command"}, nil, &errb, nil)
	if err != nil || code != 127 || errb.String() != "no-such-command: command not found\n" {
		t.Errorf("missing command after START: code %d err %v stderr %q; want 127 and a note", code, err, errb.String())
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

func TestIsStartCommand(t *testing.T) {
	sh := func(line string) agent.ExecSpec { return agent.ExecSpec{Cmd: "/bin/sh", Args: []string{"-c", line}} }
	tests := []struct {
		req  agent.ExecSpec
		want bool
	}{
		// the compiler's START scripts, as root and as a user
		{sh(`cd '/srv' && A='1' nohup /bin/sh -c 'httpd -f' >/dev/null 2>&1 &`), true},
		{sh(`su 'app' -s /bin/sh -c 'cd '\''/srv'\'' && nohup /bin/sh -c '\''httpd -f'\'' >/dev/null 2>&1 &'`), true},
		{sh("nohup sleep 10 &\n"), true},
		{sh(`/bin/sh -c 'echo hi'`), false},
		{sh(`sleep 10 &`), false},
		{sh(`nohup true; echo done`), false},
		{sh(`echo 'a & b'`), false},
	}
	for _, tc := range tests {
		if got := isStartCommand(tc.req); got != tc.want {
			t.Errorf("isStartCommand(%q) = %v, want %v", tc.req.Args[1], got, tc.want)
		}
	}
}
