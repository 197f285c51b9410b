package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"/nonexistent/crun", "`/nonexistent/crun --version` failed"},
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
