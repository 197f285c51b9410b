package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bootstrapBusybox makes a temporary directory with an agent root holding
// the busybox base ("root") and room for a cache ("cache").
func bootstrapBusybox(t *testing.T) (dir, root, cacheDir string) {
	t.Helper()
	dir = t.TempDir()
	root, cacheDir = filepath.Join(dir, "root"), filepath.Join(dir, "cache")
	var out, errb bytes.Buffer
	if code := Run([]string{"base", "bootstrap", "--root", root, "minimal", "--from", "busybox"}, nil, &out, &errb); code != 0 {
		t.Fatalf("bootstrap: exit %d: %s", code, errb.String())
	}
	return dir, root, cacheDir
}

// TestOwnDirectoriesLeftOutOfTheContext: with the agent's root and the
// cache inside the build context (here the Wrennfile's directory), neither
// is part of it: a COPY of them finds nothing.
func TestOwnDirectoriesLeftOutOfTheContext(t *testing.T) {
	dir, root, cacheDir := bootstrapBusybox(t)
	for _, src := range []string{"root/", "cache/", "root/templates/"} {
		wf := filepath.Join(dir, "Wrennfile")
		if err := os.WriteFile(wf, []byte("FROM minimal\nCOPY "+src+" /x/\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code := Run([]string{"build", "-f", wf, "--root", root, "--cache-dir", cacheDir, "--skip-pre-post", "--dry-run"}, nil, &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), "is wrenn's own directory") {
			t.Errorf("COPY %s: exit %d, %q; want it not found in the context", src, code, errb.String())
		}
	}
}

// TestBuildEndToEnd drives `wrenn build` with the embedded local agent on a
// busybox base: a first build runs every step, a second runs none, a
// change to the last RUN runs only it, and --dry-run reports the same;
// --no-cache --runtime crun runs them all again with crun.
func TestBuildEndToEnd(t *testing.T) {
	dir, root, cacheDir := bootstrapBusybox(t)
	wf := filepath.Join(dir, "Wrennfile")
	write := func(last string) {
		src := "FROM minimal\nRUN echo a > /a\nCOPY hello.txt /hello.txt\nENV X=1\nRUN " + last + "\n"
		if err := os.WriteFile(wf, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write("echo v1 > /v")
	build := func(extra ...string) map[string]int {
		t.Helper()
		var out, errb bytes.Buffer
		args := append([]string{"build", "-f", wf, "--root", root, "--cache-dir", cacheDir, "--skip-pre-post", "-t", "e2e", "--progress", "json"}, extra...)
		if code := Run(args, nil, &out, &errb); code != 0 {
			t.Fatalf("build: exit %d: %s\n%s", code, errb.String(), out.String())
		}
		counts := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var ev map[string]any
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("not JSON: %q", line)
			}
			if ev["event"] == "step-end" || ev["event"] == "plan" {
				counts[ev["status"].(string)]++
			}
		}
		return counts
	}
	if got := build(); got["done"] != 4 || got["cached"] != 0 {
		t.Fatalf("first build: %v, want 4 done", got)
	}
	if got := build(); got["cached"] != 4 || got["done"] != 0 {
		t.Fatalf("second build: %v, want 4 cached", got)
	}
	write("echo v2 > /v")
	if got := build("--dry-run"); got["cached"] != 3 || got["will run"] != 1 {
		t.Fatalf("dry run: %v, want 3 cached, 1 will run", got)
	}
	if got := build(); got["cached"] != 3 || got["done"] != 1 {
		t.Fatalf("after changing the last RUN: %v, want 3 cached, 1 done", got)
	}
	// every step again, under crun on the same root (the export below
	// reads the layers it made)
	if got := build("--no-cache", "--runtime", "crun"); got["done"] != 4 {
		t.Fatalf("--no-cache --runtime crun: %v, want 4 done", got)
	}

	// -o rootfs.ext4 holds what the steps wrote (read back with debugfs).
	img := filepath.Join(dir, "rootfs.ext4")
	if got := build("-o", img); got["cached"] != 4 {
		t.Fatalf("export build: %v, want 4 cached", got)
	}
	for file, want := range map[string]string{"/v": "v2\n", "/hello.txt": "hi\n", "/a": "a\n"} {
		out, err := exec.Command("debugfs", "-R", "cat "+file, img).Output()
		if err != nil || string(out) != want {
			t.Errorf("debugfs cat %s = %q, %v; want %q", file, out, err, want)
		}
	}
	// --healthcheck makes the same steps end in a snapshot; a bad value is
	// a usage error with its position.
	var out, errb bytes.Buffer
	args := []string{"build", "-f", wf, "--root", root, "--cache-dir", cacheDir, "--skip-pre-post", "-t", "e2e-hc", "--progress", "json"}
	if code := Run(append(args, "--healthcheck", "--interval=100ms --retries=5 CMD test -f /hello.txt"), nil, &out, &errb); code != 0 {
		t.Fatalf("build --healthcheck: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), `"type":"snapshot"`) || strings.Contains(out.String(), `"status":"done"`) {
		t.Fatalf("build --healthcheck: want a snapshot from cached steps:\n%s", out.String())
	}
	errb.Reset()
	if code := Run(append(args, "--healthcheck", "--retries=x true"), nil, &out, &errb); code != ExitUsage || !strings.Contains(errb.String(), `--healthcheck:1:11: --retries takes a non-negative integer`) {
		t.Fatalf("bad --healthcheck: exit %d: %s", code, errb.String())
	}

	tarPath := filepath.Join(dir, "rootfs.tar")
	build("-o", tarPath)
	list, err := exec.Command("tar", "tf", tarPath).Output()
	if err != nil || !strings.Contains(string(list), "\nhello.txt\n") || strings.Contains(string(list), "proc/") {
		t.Errorf("tar export listing: %v\n%s", err, list)
	}
}

// TestBuildInterruptResumes runs `wrenn build --progress plain` as a
// process: the running step's output line `#2 | started` shows while the
// step runs; SIGINT then cancels the build with exit 130, and the next
// build resumes after the last finished step.
func TestBuildInterruptResumes(t *testing.T) {
	dir, root, cacheDir := bootstrapBusybox(t)
	wf := filepath.Join(dir, "Wrennfile")
	src := "FROM minimal\nRUN echo a > /a\nRUN echo started; sleep 60\n"
	if err := os.WriteFile(wf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"build", "-f", wf, "--root", root, "--cache-dir", cacheDir, "--skip-pre-post", "--progress", "plain"}
	cmd := exec.Command("wrenn", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	sc := bufio.NewScanner(stdout)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if sc.Text() == "#2 | started" {
			break
		}
	}
	if len(seen) == 0 || seen[len(seen)-1] != "#2 | started" {
		t.Fatalf("no live output line for step 2; output:\n%s\nstderr:\n%s", strings.Join(seen, "\n"), stderr.String())
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != ExitCanceled || !strings.Contains(stderr.String(), "build cancelled") {
		t.Fatalf("after SIGINT: %v, stderr:\n%s", err, stderr.String())
	}
	if err := os.WriteFile(wf, []byte(strings.Replace(src, "sleep 60", "true", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Run(args, nil, &out, &errb); code != 0 {
		t.Fatalf("rebuild: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "[1/2] RUN echo a > /a  cached") || !strings.Contains(out.String(), "2 steps, 1 cached, 1 run") {
		t.Fatalf("rebuild did not resume after step 1:\n%s", out.String())
	}
}
