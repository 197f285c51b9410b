package local

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wrenn.dev/wrenn/agent"
	"wrenn.dev/wrenn/internal/tartest"
)

func TestWriteReadFile(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	id := newSandbox(t, b, agent.SandboxSpec{})
	if err := b.WriteFile(ctx, id, "/tmp/build-files/a/b.txt", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if got := mustRun(t, b, id, "cat /tmp/build-files/a/b.txt"); got != "one" {
		t.Errorf("the sandbox sees %q", got)
	}
	if err := b.WriteFile(ctx, id, "tmp/build-files/a/b.txt", []byte("two")); err != nil {
		t.Fatal(err)
	}
	got, err := b.ReadFile(ctx, id, "/tmp/build-files/a/b.txt")
	if err != nil || string(got) != "two" {
		t.Errorf("read back %q %v, want the overwrite", got, err)
	}
	mustRun(t, b, id, "printf made > /root/made; ln -s /root/made /tmp/link")
	if got, err := b.ReadFile(ctx, id, "/tmp/link"); err != nil || string(got) != "made" {
		t.Errorf("read through an in-sandbox symlink: %q %v", got, err)
	}
	if _, err := b.ReadFile(ctx, id, "/nope"); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("missing file: %v, want ErrNotFound", err)
	}
	if _, err := b.ReadFile(ctx, id, "/etc"); !errors.Is(err, agent.ErrInvalid) {
		t.Errorf("directory: %v, want ErrInvalid", err)
	}
}

func TestFileEscapesNeverTouchTheHost(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	id := newSandbox(t, b, agent.SandboxSpec{})
	host := t.TempDir()
	hostFile := filepath.Join(host, "secret")
	if err := os.WriteFile(hostFile, []byte("host"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../../../../" + hostFile, "/../../.." + hostFile, "/tmp/../../x"} {
		if err := b.WriteFile(ctx, id, p, []byte("evil")); !errors.Is(err, agent.ErrPathEscape) {
			t.Errorf("write %q: %v, want ErrPathEscape", p, err)
		}
		if _, err := b.ReadFile(ctx, id, p); !errors.Is(err, agent.ErrPathEscape) {
			t.Errorf("read %q: %v, want ErrPathEscape", p, err)
		}
	}
	// symlinks made inside the sandbox that point at the host's paths:
	// absolute, relative with many .., and a directory link
	mustRun(t, b, id, "ln -s "+hostFile+" /abs && ln -s ../../../../../../../../.."+hostFile+" /tmp/rel && ln -s "+host+" /dirlink")
	for _, p := range []string{"/abs", "/tmp/rel", "/dirlink/secret", "/dirlink/new"} {
		if data, err := b.ReadFile(ctx, id, p); err == nil && string(data) == "host" {
			t.Errorf("read %q returned the host file", p)
		}
	}
	// dangling links are followed inside the sandbox, as a shell's
	// "echo > /abs" would: the first write creates the host's path inside
	// the sandbox, which the directory link then reaches
	for _, p := range []string{"/abs", "/tmp/rel", "/dirlink/secret", "/dirlink/new"} {
		if err := b.WriteFile(ctx, id, p, []byte("evil")); err != nil {
			t.Errorf("write %q: %v", p, err)
		}
	}
	if data, _ := os.ReadFile(hostFile); string(data) != "host" {
		t.Errorf("host file now holds %q", data)
	}
	if ents, _ := os.ReadDir(host); len(ents) != 1 {
		t.Errorf("host directory gained files: %v", ents)
	}
	// the writes landed inside the sandbox, where the links resolve
	if got := mustRun(t, b, id, "cat "+hostFile+" "+host+"/new"); got != "evilevil" {
		t.Errorf("inside the sandbox: %q", got)
	}
}

func TestExtractTar(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	id := newSandbox(t, b, agent.SandboxSpec{})
	tarball := tartest.Write(t, []tartest.Entry{
		{Header: &tar.Header{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o750}, Body: nil},
		{Header: &tar.Header{Name: "data/a.txt", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 1000, Gid: 1000}, Body: []byte("alpha\n")},
		{Header: &tar.Header{Name: "data/hard", Typeflag: tar.TypeLink, Linkname: "data/a.txt"}, Body: nil},
		// an absolute symlink, then an entry through it: it stays in dir
		{Header: &tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "/"}, Body: nil},
		{Header: &tar.Header{Name: "up/escape", Typeflag: tar.TypeReg, Mode: 0o644}, Body: []byte("inside\n")},
	})
	n, err := b.ExtractTar(ctx, id, agent.ExtractSpec{Dir: "/tmp/build-files"}, bytes.NewReader(tarball))
	if err != nil || n != 5 {
		t.Fatalf("ExtractTar = %d, %v", n, err)
	}
	got := mustRun(t, b, id, "cd /tmp/build-files && cat data/a.txt data/hard && stat -c '%u:%g %a' data/a.txt data && "+
		"readlink up && cat escape && ls /escape >/dev/null 2>&1 || echo no-escape")
	if want := "alpha\nalpha\n1000:1000 640\n0:0 750\n/\ninside\nno-escape\n"; got != want {
		t.Errorf("extracted tree:\n%s\nwant:\n%s", got, want)
	}

	if _, err := b.ExtractTar(ctx, id, agent.ExtractSpec{Dir: "../../x"}, bytes.NewReader(nil)); !errors.Is(err, agent.ErrPathEscape) {
		t.Errorf("dir above /: %v, want ErrPathEscape", err)
	}
	if _, err := b.ExtractTar(ctx, id, agent.ExtractSpec{Dir: "/tmp/x"}, strings.NewReader("not a tar at all, long enough to fill a header block? no")); !errors.Is(err, agent.ErrInvalid) {
		t.Errorf("garbage: %v, want ErrInvalid", err)
	}
	if _, err := b.ExtractTar(ctx, "nope", agent.ExtractSpec{Dir: "/tmp"}, bytes.NewReader(nil)); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("unknown sandbox: %v, want ErrNotFound", err)
	}
}

// ExtractSpec.Absent refuses, before writing anything, when a path already
// exists (through the rootfs's own symlinks, as the sandbox sees them) or a
// parent is not a directory; ExtractionTimes stamps entries with the time
// they are written instead of the tar's.
func TestExtractTarAbsent(t *testing.T) {
	b := newTestBackend(t)
	ctx := context.Background()
	id := newSandbox(t, b, agent.SandboxSpec{})
	mustRun(t, b, id, "mkdir -p /real/there && ln -s /real /via && echo x > /file")
	oneFile := func(name string) *bytes.Buffer {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: 3, ModTime: time.Unix(1000, 0)})
		tw.Write([]byte("new"))
		tw.Close()
		return &buf
	}
	for _, absent := range []string{"/real/there", "/via/there", "/file/below", "/"} {
		_, err := b.ExtractTar(ctx, id, agent.ExtractSpec{Dir: "/", Absent: []string{"/fresh/x", absent}}, oneFile("fresh/x"))
		if !errors.Is(err, agent.ErrExists) {
			t.Errorf("absent %s: %v, want ErrExists", absent, err)
		}
	}
	if got := mustRun(t, b, id, "ls /fresh >/dev/null 2>&1 || echo none"); got != "none\n" {
		t.Errorf("a refused extraction wrote /fresh: %q", got)
	}
	start := time.Now().Add(-2 * time.Second)
	if _, err := b.ExtractTar(ctx, id, agent.ExtractSpec{Dir: "/", Absent: []string{"/fresh/x", "/via/new"}, ExtractionTimes: true}, oneFile("fresh/x")); err != nil {
		t.Fatalf("absent paths: %v", err)
	}
	got := mustRun(t, b, id, "cat /fresh/x; echo; stat -c %Y /fresh/x")
	lines := strings.Fields(got)
	if len(lines) != 2 || lines[0] != "new" || lines[1] < fmt.Sprint(start.Unix()) {
		t.Errorf("extracted %q, want content new and a time after %d", got, start.Unix())
	}
}
