package local

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"wrenn.dev/wrenn/agent"
)

type tarEntry struct {
	name, body, link string
	typ              byte
}

func writeTarball(t testing.TB, path string, gz bool, entries []tarEntry) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if typ == tar.TypeDir {
			hdr.Mode = 0o755
		}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if gz {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write(data)
		zw.Close()
		data = zb.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestImportBaseRejectsEscapingEntries(t *testing.T) {
	b := newTestBackend(t)
	dir := t.TempDir()
	tests := []struct {
		entry tarEntry
		want  string
	}{
		{tarEntry{name: "../evil", body: "x"}, `tar entry "../evil": escapes the root (absolute path or ..): path escapes the sandbox root`},
		{tarEntry{name: "/etc/evil", body: "x"}, `tar entry "/etc/evil": escapes the root (absolute path or ..): path escapes the sandbox root`},
		{tarEntry{name: "a/../../evil", body: "x"}, `tar entry "a/../../evil": escapes the root (absolute path or ..): path escapes the sandbox root`},
		{tarEntry{name: "hard", typ: tar.TypeLink, link: "../../etc/passwd"}, `tar entry "hard": hard link to "../../etc/passwd": escapes the root (absolute path or ..): path escapes the sandbox root`},
	}
	for _, tc := range tests {
		p := filepath.Join(dir, "bad.tar")
		writeTarball(t, p, false, []tarEntry{{name: "ok", body: "fine"}, tc.entry})
		_, err := b.ImportBase(context.Background(), "bad", p)
		want := "base bad: " + p + ": " + tc.want
		if err == nil || err.Error() != want || !errors.Is(err, agent.ErrPathEscape) {
			t.Errorf("import with %q:\n got: %v\nwant: %s", tc.entry.name, err, want)
		}
	}
	if _, err := b.Template(context.Background(), agent.TemplateRef{Name: "bad"}); !errors.Is(err, agent.ErrNotFound) {
		t.Errorf("a rejected import left a template: %v", err)
	}
	if ents, _ := os.ReadDir(b.tmpDir()); len(ents) != 0 {
		t.Errorf("a rejected import left %v in tmp/", ents)
	}
}

func TestImportBaseKeepsSymlinkTricksInside(t *testing.T) {
	b := newTestBackend(t)
	host := t.TempDir()
	p := filepath.Join(t.TempDir(), "rootfs.tar.gz")
	writeTarball(t, p, true, []tarEntry{
		{name: "./", typ: tar.TypeDir},
		{name: "./etc/", typ: tar.TypeDir},
		{name: "./etc/hostname", body: "imported\n"},
		{name: "." + host + "/", typ: tar.TypeDir},                      // the host's path, inside
		{name: "./abs", typ: tar.TypeSymlink, link: host},               // absolute: normal in a rootfs
		{name: "./abs/planted", body: "evil"},                           // must land in <rootfs>/<host>
		{name: "./up", typ: tar.TypeSymlink, link: "../../../../../.."}, // climbs: clamped at /
		{name: "./up/tmp-planted", body: "evil"},
		{name: "./etc/hostname-link", typ: tar.TypeLink, link: "etc/hostname"},
	})
	info, err := b.ImportBase(context.Background(), "imported", p)
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(host); len(ents) != 0 {
		t.Fatalf("the import wrote into the host directory: %v", ents)
	}
	if _, err := os.Stat("/tmp-planted"); err == nil {
		t.Fatal("the import wrote /tmp-planted on the host")
	}
	rootfs := filepath.Join(b.templateDir(info.ID), "rootfs")
	for rel, want := range map[string]string{host + "/planted": "evil", "tmp-planted": "evil", "etc/hostname-link": "imported\n"} {
		if got, err := os.ReadFile(filepath.Join(rootfs, rel)); err != nil || string(got) != want {
			t.Errorf("%s in the rootfs: %q %v", rel, got, err)
		}
	}
	// a rootfs without a shell still makes a sandbox (the reaper is the
	// host's busybox), and files can be read
	id := newSandbox(t, b, agent.SandboxSpec{Template: "imported"})
	if got, err := b.ReadFile(context.Background(), id, "/etc/hostname"); err != nil || string(got) != "imported\n" {
		t.Errorf("read: %q %v", got, err)
	}
	again, err := b.ImportBase(context.Background(), "imported", p)
	if err != nil || again.Digest != info.Digest || again.ID == info.ID {
		t.Errorf("re-import: %+v (first %+v) %v", again, info, err)
	}
}

func TestDigestIgnoresTimesButNotContent(t *testing.T) {
	mk := func(content string, mode os.FileMode) string {
		d := t.TempDir()
		os.MkdirAll(filepath.Join(d, "a"), 0o755)
		os.WriteFile(filepath.Join(d, "a", "f"), []byte(content), mode)
		os.Symlink("/a/f", filepath.Join(d, "l"))
		return d
	}
	digest := func(d string) string {
		st, err := digestTree(d)
		if err != nil {
			t.Fatal(err)
		}
		return st.Digest
	}
	d1, d2 := mk("x", 0o644), mk("x", 0o644)
	os.Chtimes(filepath.Join(d2, "a", "f"), time.Unix(1, 0), time.Unix(1, 0))
	if digest(d1) != digest(d2) {
		t.Error("digest depends on mtimes")
	}
	if digest(d1) == digest(mk("y", 0o644)) {
		t.Error("digest ignores content")
	}
	if digest(d1) == digest(mk("x", 0o755)) {
		t.Error("digest ignores the mode")
	}
}
