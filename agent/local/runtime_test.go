package local

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wrenn.dev/wrenn/agent"
)

// TestRuntimeOption: New takes runc or crun by name or path, checks what
// the binary is, and says clearly what is wrong otherwise.
func TestRuntimeOption(t *testing.T) {
	other := filepath.Join(t.TempDir(), "youki")
	if err := os.WriteFile(other, []byte("#!/bin/sh\necho 'youki version 0.3.3'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		runtime string
		want    string // the runtime's name, or a part of the error
	}{
		{"", "runc"},
		{"runc", "runc"},
		{"crun", "crun"},
		{"/usr/bin/crun", "crun"},
		{"no-such-runtime", `OCI runtime "no-such-runtime" not found on PATH`},
		{"/nonexistent/crun", "OCI runtime /nonexistent/crun: stat /nonexistent/crun: no such file or directory"},
		{other, "`" + other + " --version` says \"youki version 0.3.3\"; want runc or crun"},
		{"/bin/busybox", "`/bin/busybox --version` failed: --version: applet not found"},
	} {
		root := filepath.Join(t.TempDir(), "root")
		b, err := New(Options{Root: root, Runtime: tc.runtime})
		if err != nil {
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Runtime %q: %v, want an error saying %q", tc.runtime, err, tc.want)
			}
			if _, serr := os.Stat(root); !os.IsNotExist(serr) {
				t.Errorf("Runtime %q: the root was made before the runtime was checked", tc.runtime)
			}
			continue
		}
		if b.rt.name != tc.want || !filepath.IsAbs(b.rt.path) || !strings.HasPrefix(b.rt.version, tc.want+" version ") {
			t.Errorf("Runtime %q: got %+v, want %s", tc.runtime, b.rt, tc.want)
		}
		if _, err := os.Stat(filepath.Join(root, tc.want)); err != nil {
			t.Errorf("Runtime %q: no state directory: %v", tc.runtime, err)
		}
		if err := b.Close(t.Context()); err != nil {
			t.Error(err)
		}
	}
}

// TestRuntimeError: the last error or fatal line of a runtime's JSON log
// is the reason; warnings and lines that are not JSON are not.
func TestRuntimeError(t *testing.T) {
	for _, tc := range []struct{ name, log, want string }{
		{"runc", `{"level":"warning","msg":"something odd","time":"2026-11-29T05:09:43Z"}
{"level":"error","msg":"runc run failed: chdir /nonexistent: no such file or directory","time":"2026-11-29T05:09:43Z"}
`, "runc run failed: chdir /nonexistent: no such file or directory"},
		{"crun", `{"msg":"cannot set memory.swappiness","level":"warning","time":"2026-11-29T05:09:52.319402Z"}
{"msg":"executable file ` + "`nosuch`" + ` not found in $PATH: No such file or directory","level":"error","time":"2026-11-29T05:09:52.319402Z"}
`, "executable file `nosuch` not found in $PATH: No such file or directory"},
		{"warnings only", `{"msg":"cgroup v1 is deprecated","level":"warning","time":"2026-11-29T05:09:52Z"}` + "\nnot json\n", ""},
		{"no trailing newline", `{"msg":"first","level":"error"}` + "\n" + `{"msg":"last","level":"fatal"}`, "last"},
	} {
		path := filepath.Join(t.TempDir(), "log")
		if err := os.WriteFile(path, []byte(tc.log), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := runtimeError(path); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := runtimeError(filepath.Join(t.TempDir(), "missing")); got != "" {
		t.Errorf("no log: %q", got)
	}
}

// TestNoStartReadsRuntimeLog: when the runtime could not start the
// process, its logged reason becomes a shell's exit code, in runc's and
// crun's wording; another reason is an error naming the runtime.
func TestNoStartReadsRuntimeLog(t *testing.T) {
	sb := &sandbox{id: "sb-1"}
	req := agent.ExecSpec{Cmd: "tool"}
	for _, tc := range []struct {
		rt, msg string
		code    int
		stderr  string
		err     string
	}{
		{"runc", `exec failed: unable to start container process: exec: "tool": executable file not found in $PATH`, 127, "tool: command not found\n", ""},
		{"crun", "executable file `tool` not found in $PATH: No such file or directory", 127, "tool: command not found\n", ""},
		{"runc", `exec failed: unable to start container process: exec: "tool": permission denied`, 126, "tool: permission denied\n", ""},
		{"crun", "open `/tool`: Permission denied", 126, "tool: permission denied\n", ""},
		{"crun", "cgroups in hybrid mode not supported, drop all controllers from cgroupv2", -1, "", "exec in sandbox sb-1: crun: cgroups in hybrid mode not supported"},
	} {
		log := filepath.Join(t.TempDir(), "log")
		line, _ := json.Marshal(map[string]string{"msg": tc.msg, "level": "error"})
		if err := os.WriteFile(log, append(line, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		var errb bytes.Buffer
		code, err := outcome{code: 255, noStart: true}.result(t.Context(), sb, req, &errb, tc.rt, log)
		if code != tc.code || errb.String() != tc.stderr || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s %q: (%d, %v) stderr %q; want (%d, %q) stderr %q", tc.rt, tc.msg, code, err, errb.String(), tc.code, tc.err, tc.stderr)
		}
	}
}
