package compiler

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/internal/tartest"
)

// writeTree creates files under dir: "path" -> content; a trailing "/"
// makes a directory, "->target" content makes a symlink.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(c, "->"); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func selectedPaths(sel *Selection) []string {
	var out []string
	for _, e := range sel.Files {
		out = append(out, e.Path)
	}
	return out
}

func TestDirContextIgnoreAndSelect(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		".wrennignore":      "**/*.log\nnode_modules\nsecret/\n!secret/keep.txt\n",
		"app/main.go":       "package main",
		"app/util/u.go":     "package util",
		"app/debug.log":     "x",
		"node_modules/a.js": "x",
		"secret/key":        "x",
		"secret/keep.txt":   "kept",
		"README.md":         "readme",
		"docs/a.md":         "a",
		"docs/b.txt":        "b",
		"link":              "->app/main.go",
	})
	c, err := OpenContext(dir, ContextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"app/debug.log", "node_modules/a.js", "node_modules", "secret/key"} {
		if _, ok := c.Lookup(p); ok {
			t.Errorf("%s is not ignored", p)
		}
	}
	if e, ok := c.Lookup("secret/keep.txt"); !ok || e.Type != TypeFile {
		t.Errorf("negated pattern lost secret/keep.txt")
	}
	if e, ok := c.Lookup("link"); !ok || e.Type != TypeSymlink || e.Link != "app/main.go" {
		t.Errorf("symlink entry = %+v", e)
	}
	for _, tc := range []struct {
		sources []string
		want    []string
	}{
		{[]string{"app"}, []string{"app/main.go", "app/util", "app/util/u.go", "app"}},
		{[]string{"./app/../README.md"}, []string{"README.md"}},
		{[]string{"docs/*.md"}, []string{"docs/a.md"}},
		{[]string{"*.md", "docs/b.txt"}, []string{"README.md", "docs/b.txt"}},
		{[]string{"*/*.go"}, []string{"app/main.go"}},
		{[]string{"d?cs"}, []string{"docs", "docs/a.md", "docs/b.txt"}},
	} {
		sel, err := c.Select(tc.sources)
		if err != nil {
			t.Errorf("Select(%v): %v", tc.sources, err)
			continue
		}
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if got := selectedPaths(sel); !slices.Equal(got, want) {
			t.Errorf("Select(%v) = %v, want %v", tc.sources, got, want)
		}
	}
	for _, tc := range []struct {
		src, want string
		missing   bool
	}{
		{"nope.txt", `copy source "nope.txt" not found in the build context`, true},
		{"*.py", `copy source "*.py" not found in the build context`, true},
		{"app/debug.log", `copy source "app/debug.log" not found in the build context`, true},
		{"../etc/passwd", `copy source "../etc/passwd" leaves the build context`, false},
		{"/etc/passwd", `copy source "/etc/passwd" is absolute; sources are relative to the build context`, false},
		{"[", `copy source "[" is a malformed pattern`, false},
	} {
		_, err := c.Select([]string{tc.src})
		var se *SourceError
		if !errors.As(err, &se) || err.Error() != tc.want || se.Missing != tc.missing {
			t.Errorf("Select(%q) = %v, want %q (missing %v)", tc.src, err, tc.want, tc.missing)
		}
	}
}

func TestInputsByContentNotMetadata(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a/x": "hello", "a/y": "world", "other": "o"})
	inputs := func() []InputFile {
		c, err := OpenContext(dir, ContextOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sel, err := c.Select([]string{"a"})
		if err != nil {
			t.Fatal(err)
		}
		in, err := c.Inputs(sel)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	first := inputs()
	if len(first) != 3 || first[1].Path != "a/x" || first[1].Digest != digest.FromString("hello") || first[1].Mode != 0o644 {
		t.Fatalf("inputs = %+v", first)
	}
	// mtime and an unselected file change nothing.
	if err := os.Chtimes(filepath.Join(dir, "a/x"), timeAt(1), timeAt(1)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "other"), []byte("changed"), 0o644)
	if !slices.Equal(first, inputs()) {
		t.Errorf("mtime or an unselected file changed the inputs")
	}
	// Mode and content do.
	os.Chmod(filepath.Join(dir, "a/y"), 0o755)
	if got := inputs(); got[2].Mode != 0o755 {
		t.Errorf("mode change not seen: %+v", got[2])
	}
	os.WriteFile(filepath.Join(dir, "a/x"), []byte("HELLO"), 0o644)
	if got := inputs(); got[1].Digest != digest.FromString("HELLO") {
		t.Errorf("content change not seen: %+v", got[1])
	}
}

// countingOpen counts the files opened for reading.
func countingOpen(n *atomic.Int64) func(string) (io.ReadCloser, error) {
	return func(name string) (io.ReadCloser, error) {
		n.Add(1)
		return os.Open(name)
	}
}

func TestWarmRekeyReadsNoContent(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 10000 {
		files[filepath.Join("d"+itoa(i%50), "f"+itoa(i))] = "content " + itoa(i)
	}
	writeTree(t, dir, files)
	ageTree(t, dir)
	cache := filepath.Join(t.TempDir(), "stat.cache")
	key := func() (digest.Digest, int64) {
		var reads atomic.Int64
		sc, err := OpenFileStatCache(cache)
		if err != nil {
			t.Fatal(err)
		}
		c, err := OpenContext(dir, ContextOptions{StatCache: sc, Open: countingOpen(&reads)})
		if err != nil {
			t.Fatal(err)
		}
		b := &astBuilder{}
		p := mustCompile(t, file(b.copy(". /app/")), Options{Context: c, SkipPrePost: true})
		if err := sc.Save(); err != nil {
			t.Fatal(err)
		}
		return p.Steps[0].Key, reads.Load()
	}
	cold, coldReads := key()
	if coldReads != 10000 {
		t.Fatalf("cold run read %d files, want 10000", coldReads)
	}
	warm, warmReads := key()
	if warmReads != 0 || warm != cold {
		t.Errorf("warm run read %d files (key equal: %v), want 0 reads", warmReads, warm == cold)
	}
	// One changed file is the only one read again.
	os.WriteFile(filepath.Join(dir, "d7", "f7"), []byte("changed!"), 0o644)
	changed, reads := key()
	if reads != 1 || changed == cold {
		t.Errorf("after one change: %d reads, key changed %v", reads, changed != cold)
	}
	// Just modified, it is racily clean: read again until it ages.
	if again, reads := key(); reads != 1 || again != changed {
		t.Errorf("young file: %d reads, want 1", reads)
	}
	ageTree(t, dir)
	key()
	if again, reads := key(); reads != 0 || again != changed {
		t.Errorf("aged file: %d reads, want 0", reads)
	}
}

// ageTree sets every mtime an hour back, out of the racy window.
func ageTree(t testing.TB, dir string) {
	old := time.Now().Add(-time.Hour)
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			err = os.Chtimes(p, old, old)
		}
		return err
	})
}

func TestFileStatCacheDiscardsGarbage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sc")
	os.WriteFile(p, []byte("garbage"), 0o644)
	sc, err := OpenFileStatCache(p)
	if err != nil || sc.Len() != 0 {
		t.Fatalf("OpenFileStatCache = %v, %d entries", err, sc.Len())
	}
	st := FileStat{Size: 1, MtimeNS: 2, Inode: 3, Mode: 4}
	sc.Put("/x", st, digest.FromString("x"))
	if err := sc.Save(); err != nil {
		t.Fatal(err)
	}
	sc2, _ := OpenFileStatCache(p)
	if d, ok := sc2.Get("/x", st); !ok || d != digest.FromString("x") {
		t.Errorf("reloaded entry = %v %v", d, ok)
	}
	st.MtimeNS++
	if _, ok := sc2.Get("/x", st); ok {
		t.Errorf("entry valid for a different mtime")
	}
}

type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func makeTar(t testing.TB, entries []tarEntry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, Size: int64(len(e.body))}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func makeZip(t testing.TB, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

func TestArchiveFormats(t *testing.T) {
	entries := []tarEntry{
		{name: "./app/", typ: tar.TypeDir, mode: 0o755},
		{name: "./app/main.py", typ: tar.TypeReg, body: "print(1)", mode: 0o755},
		{name: "app/link", typ: tar.TypeSymlink, link: "main.py"},
		{name: "app/hard", typ: tar.TypeLink, link: "app/main.py"},
	}
	tarball := makeTar(t, entries)
	for _, tc := range []struct {
		format string
		data   []byte
	}{
		{"tar", tarball},
		{"tar.gz", gz(tarball)},
		{"zip", makeZip(t, map[string]string{"app/main.py": "print(1)"})},
	} {
		t.Run(tc.format, func(t *testing.T) {
			if got := ArchiveFormat(tc.data); got != tc.format {
				t.Fatalf("ArchiveFormat = %s", got)
			}
			c, err := OpenArchive(tc.data, ContextOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sel, err := c.Select([]string{"app/main.py"})
			if err != nil {
				t.Fatal(err)
			}
			in, err := c.Inputs(sel)
			if err != nil || len(in) != 1 || in[0].Digest != digest.FromString("print(1)") {
				t.Fatalf("inputs = %+v %v", in, err)
			}
			if tc.format != "zip" {
				if e, _ := c.Lookup("app/link"); e == nil || e.Type != TypeSymlink || e.Link != "main.py" {
					t.Errorf("symlink = %+v", e)
				}
				if e, _ := c.Lookup("app/hard"); e == nil || e.Type != TypeFile || string(e.data) != "print(1)" {
					t.Errorf("hard link = %+v", e)
				}
			}
		})
	}
	// Anything else is tried as tar.gz, and fails clearly.
	if ArchiveFormat([]byte("hello")) != "tar.gz" {
		t.Errorf("fallback is not tar.gz")
	}
	if _, err := OpenArchive([]byte("hello"), ContextOptions{}); err == nil || err.Error() != "open build context: not a tar, tar.gz or zip archive: unexpected EOF" {
		t.Errorf("garbage archive: %v", err)
	}
}

func TestArchiveEscapesRejected(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []tarEntry
		want    string
	}{
		{"dotdot", []tarEntry{{name: "../evil", typ: tar.TypeReg, body: "x"}}, `archive entry "../evil": path contains '..'`},
		{"inner dotdot", []tarEntry{{name: "a/../../evil", typ: tar.TypeReg, body: "x"}}, `archive entry "a/../../evil": path contains '..'`},
		{"absolute", []tarEntry{{name: "/etc/passwd", typ: tar.TypeReg, body: "x"}}, `archive entry "/etc/passwd": absolute path`},
		{"symlink out", []tarEntry{{name: "a/l", typ: tar.TypeSymlink, link: "../../etc"}}, `archive entry "a/l": symlink points outside the context (../../etc)`},
		{"symlink absolute", []tarEntry{{name: "l", typ: tar.TypeSymlink, link: "/etc/shadow"}}, `archive entry "l": symlink points outside the context (/etc/shadow)`},
		{"hardlink out", []tarEntry{{name: "h", typ: tar.TypeLink, link: "../x"}}, `archive entry "h": hard link points outside the context (../x)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenArchive(makeTar(t, tc.entries), ContextOptions{})
			var ae *ArchiveError
			if !errors.As(err, &ae) || err.Error() != tc.want {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	_, err := OpenArchive(makeZip(t, map[string]string{"../z": "x"}), ContextOptions{})
	if err == nil || err.Error() != `archive entry "../z": path contains '..'` {
		t.Errorf("zip escape: %v", err)
	}
}

func TestArchiveLimits(t *testing.T) {
	var entries []tarEntry
	for i := range 20 {
		entries = append(entries, tarEntry{name: "f" + itoa(i), typ: tar.TypeReg, body: strings.Repeat("x", 100)})
	}
	data := gz(makeTar(t, entries))
	if _, err := OpenArchive(data, ContextOptions{MaxEntries: 10}); err == nil || err.Error() != "open build context: archive has more than 10 entries" {
		t.Errorf("entry limit: %v", err)
	}
	if _, err := OpenArchive(data, ContextOptions{MaxBytes: 1000}); err == nil || err.Error() != "open build context: archive expands to more than 1000 bytes" {
		t.Errorf("size limit: %v", err)
	}
	if _, err := OpenArchive(data, ContextOptions{}); err != nil {
		t.Errorf("within limits: %v", err)
	}
}

func TestArchiveIgnoreFile(t *testing.T) {
	data := makeTar(t, []tarEntry{
		{name: ".wrennignore", typ: tar.TypeReg, body: "*.tmp\n"},
		{name: "a.tmp", typ: tar.TypeReg, body: "x"},
		{name: "b.txt", typ: tar.TypeReg, body: "y"},
	})
	c, err := OpenArchive(data, ContextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Lookup("a.tmp"); ok {
		t.Errorf("a.tmp not ignored")
	}
	if _, ok := c.Lookup("b.txt"); !ok {
		t.Errorf("b.txt lost")
	}
}

func TestWriteTarShipsOnlySelection(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"app/a/x.txt": "x", "app/b.txt": "b", "skip.txt": "s", "app/l": "->b.txt"})
	c, err := OpenContext(dir, ContextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select([]string{"app/a/x.txt", "app/l"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteTar(&buf, sel); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range tartest.Read(t, &buf) {
		desc := h.Name
		if h.Typeflag == tar.TypeSymlink {
			desc += "->" + h.Linkname
		}
		if h.Typeflag == tar.TypeReg {
			desc += "=" + string(h.Body)
		}
		if h.Uid != 0 || !h.ModTime.Equal(timeAt(0)) {
			t.Errorf("%s: uid %d mtime %v", h.Name, h.Uid, h.ModTime)
		}
		got = append(got, desc)
	}
	want := []string{"app/", "app/a/", "app/a/x.txt=x", "app/l->b.txt"}
	if !slices.Equal(got, want) {
		t.Errorf("tar = %v, want %v", got, want)
	}
}

// TestDirContextExcludeAndChurn: Exclude leaves wrenn's own directories
// out of a context that contains them, and files that disappear while the
// context is walked (another process's churn) are not in it, instead of
// failing the walk.
func TestDirContextExcludeAndChurn(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"app/main.txt": "x", "state/layers/l1/f": "y", "state2": "z", "churn/": ""})
	c, err := OpenContext(dir, ContextOptions{Exclude: []string{filepath.Join(dir, "state"), filepath.Join(dir, "state2")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"state", "state/layers/l1/f", "state2"} {
		if _, ok := c.Lookup(p); ok {
			t.Errorf("%s is in the context", p)
		}
	}
	if _, ok := c.Lookup("app/main.txt"); !ok {
		t.Error("app/main.txt is not in the context")
	}
	// a COPY of one says why it is not there
	for _, src := range []string{"state", "state/layers/", "state2"} {
		_, err := c.Select([]string{src})
		if err == nil || !strings.Contains(err.Error(), "is wrenn's own directory") {
			t.Errorf("Select(%q) = %v, want it named as wrenn's own", src, err)
		}
	}
	if _, err := c.Select([]string{"stateX"}); err == nil || strings.Contains(err.Error(), "wrenn's own") {
		t.Errorf("Select(stateX) = %v, want a plain not found", err)
	}

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := filepath.Join(dir, "churn", "f"+strings.Repeat("x", i%7))
			_ = os.WriteFile(p, nil, 0o644)
			_ = os.Symlink("main.txt", p+".l")
			_ = os.Remove(p)
			_ = os.Remove(p + ".l")
		}
	}()
	for i := 0; i < 300; i++ {
		if _, err := OpenContext(dir, ContextOptions{}); err != nil {
			t.Errorf("walk %d during churn: %v", i, err)
			break
		}
	}
	close(stop)
	<-done
}
