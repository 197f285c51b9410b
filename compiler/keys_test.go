package compiler

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/lang"
)

// recipe builds the same five-step file each time, with knobs for the
// variations the invariants talk about.
type recipeKnobs struct {
	keywordCase  func(string) string
	lineShift    int // simulates comments and blank lines before each line
	flagsFlipped bool
	timeout      string
	envValue     string // the ENV in step 2
	thirdCmd     string
}

func knobFile(k recipeKnobs) *lang.File {
	b := &astBuilder{line: k.lineShift}
	if k.keywordCase == nil {
		k.keywordCase = func(s string) string { return s }
	}
	if k.timeout == "" {
		k.timeout = "1m"
	}
	if k.envValue == "" {
		k.envValue = "1"
	}
	if k.thirdCmd == "" {
		k.thirdCmd = "make"
	}
	flags := []*lang.Flag{flag("timeout", k.timeout), flag("user", "root")}
	if k.flagsFlipped {
		flags[0], flags[1] = flags[1], flags[0]
	}
	ins := []lang.Instruction{
		b.run("apt-get install -y curl"),
		b.env("A", k.envValue),
		b.run(k.thirdCmd, flags...),
		b.workdir("/src"),
		b.run("echo done"),
	}
	for _, in := range ins {
		n := in.Node()
		n.Keyword = k.keywordCase(n.Keyword)
		b.line += k.lineShift
	}
	return file(ins...)
}

func knobKeys(t *testing.T, k recipeKnobs) []string {
	t.Helper()
	return keysOf(mustCompile(t, knobFile(k), Options{}))
}

func TestKeysIgnoreKeywordCase(t *testing.T) {
	base := knobKeys(t, recipeKnobs{})
	lower := knobKeys(t, recipeKnobs{keywordCase: strings.ToLower})
	mixed := knobKeys(t, recipeKnobs{keywordCase: func(s string) string { return s[:1] + strings.ToLower(s[1:]) }})
	if !slices.Equal(base, lower) || !slices.Equal(base, mixed) {
		t.Errorf("keyword case changed keys")
	}
}

func TestKeysIgnorePositions(t *testing.T) {
	// Comments, blank lines and continuation lines only move ranges.
	if !slices.Equal(knobKeys(t, recipeKnobs{}), knobKeys(t, recipeKnobs{lineShift: 3})) {
		t.Errorf("moving instructions changed keys")
	}
}

func TestKeysIgnoreFlagOrder(t *testing.T) {
	a := mustCompile(t, knobFile(recipeKnobs{}), Options{})
	b := mustCompile(t, knobFile(recipeKnobs{flagsFlipped: true}), Options{})
	if !slices.Equal(keysOf(a), keysOf(b)) {
		t.Errorf("flag order changed keys")
	}
	if a.Steps[5].Text != b.Steps[5].Text {
		t.Errorf("canonical text depends on flag order: %q vs %q", a.Steps[5].Text, b.Steps[5].Text)
	}
}

func TestKeysIgnoreTimeout(t *testing.T) {
	a := mustCompile(t, knobFile(recipeKnobs{timeout: "1m"}), Options{})
	b := mustCompile(t, knobFile(recipeKnobs{timeout: "2h"}), Options{})
	if !slices.Equal(keysOf(a), keysOf(b)) {
		t.Errorf("a timeout change changed keys")
	}
	if a.Steps[5].Timeout == b.Steps[5].Timeout {
		t.Fatalf("the knob did not change the timeout")
	}
	c := mustCompile(t, knobFile(recipeKnobs{}), Options{RecipeTimeout: 5, PhaseTimeout: 7})
	if !slices.Equal(keysOf(a), keysOf(c)) {
		t.Errorf("default timeouts changed keys")
	}
}

// changedFrom returns the first index where the key lists differ, and
// checks that every key from there on differs.
func changedFrom(t *testing.T, a, b []string) int {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("step counts differ: %d vs %d", len(a), len(b))
	}
	first := -1
	for i := range a {
		if a[i] != b[i] && first < 0 {
			first = i
		}
		if first >= 0 && a[i] == b[i] {
			t.Errorf("step %d keeps its key after a change at step %d", i+1, first+1)
		}
	}
	return first
}

func TestSemanticChangeChangesThatStepAndLater(t *testing.T) {
	base := knobKeys(t, recipeKnobs{})
	// Step 6 (index 5) is the third recipe line, after 3 pre-build steps.
	if got := changedFrom(t, base, knobKeys(t, recipeKnobs{thirdCmd: "make all"})); got != 5 {
		t.Errorf("RUN change: first changed step %d, want 6", got+1)
	}
	// An ENV change makes no layer but changes its own key and all later.
	if got := changedFrom(t, base, knobKeys(t, recipeKnobs{envValue: "2"})); got != 4 {
		t.Errorf("ENV change: first changed step %d, want 5", got+1)
	}
}

func TestBuildArgChangesKeysFromFirstStepThatSeesIt(t *testing.T) {
	b := &astBuilder{}
	f := file(b.run("one"), b.run("two"), b.arg("V", "1"), b.run("three"))
	a := keysOf(mustCompile(t, f, Options{SkipPrePost: true}))
	c := keysOf(mustCompile(t, f, Options{SkipPrePost: true, BuildArgs: map[string]string{"V": "2"}}))
	if got := changedFrom(t, a, c); got != 2 {
		t.Errorf("first changed step %d, want 3 (the ARG)", got+1)
	}
	// Setting a build arg to its default changes nothing.
	d := keysOf(mustCompile(t, f, Options{SkipPrePost: true, BuildArgs: map[string]string{"V": "1"}}))
	if !slices.Equal(a, d) {
		t.Errorf("build arg equal to the default changed keys")
	}
}

func TestKeysDeterministic(t *testing.T) {
	a := knobKeys(t, recipeKnobs{})
	for range 20 {
		if !slices.Equal(a, knobKeys(t, recipeKnobs{})) {
			t.Fatal("keys differ between runs")
		}
	}
}

func TestPreimageCanonical(t *testing.T) {
	p := mustCompile(t, knobFile(recipeKnobs{}), Options{})
	for _, s := range p.Steps {
		// Members in the fixed order of SPEC.md 4.3: decoding into the
		// struct and encoding again through encoding/json (declaration
		// order, sorted map keys) gives the same bytes.
		d, err := DecodePreimage(s.Preimage())
		if err != nil {
			t.Fatal(err)
		}
		if got := d.encodeJSON(); !bytes.Equal(got, s.Preimage()) {
			t.Errorf("step %d preimage is not canonical:\n%s\n%s", s.ID, s.Preimage(), got)
		}
		if !bytes.HasPrefix(s.Preimage(), []byte(`{"version":2,"env":{`)) {
			t.Errorf("step %d preimage does not start with the version and env: %s", s.ID, s.Preimage())
		}
		if d.Key() != s.Key || digest.FromBytes(s.Preimage()) != s.Key {
			t.Errorf("step %d: decoded preimage gives %s, want %s", s.ID, d.Key(), s.Key)
		}
	}
}

func TestDecodePreimageRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"version":1,"kind":"RUN"}`, "decode preimage: unknown version 1 (this wrenn knows 2)"},
		{`{"version":2,"kind":"RUN","extra":1}`, `decode preimage: json: unknown field "extra"`},
		{`not json`, "decode preimage: invalid character 'o' in literal null (expecting 'u')"},
	} {
		_, err := DecodePreimage([]byte(tc.in))
		if err == nil || err.Error() != tc.want {
			t.Errorf("DecodePreimage(%s) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestDiffPreimages(t *testing.T) {
	a := mustCompile(t, knobFile(recipeKnobs{}), Options{})
	b := mustCompile(t, knobFile(recipeKnobs{envValue: "2"}), Options{})
	// The RUN after the ENV: its env differs, and so does its parent.
	pa, _ := DecodePreimage(a.Steps[5].Preimage())
	pb, _ := DecodePreimage(b.Steps[5].Preimage())
	d := DiffPreimages(pa, pb)
	if len(d) != 2 || d[0].Field != "env.A" || d[0].Old != "1" || d[0].New != "2" || d[1].Field != "parents[0]" {
		t.Errorf("diff = %+v", d)
	}
	if len(DiffPreimages(pa, pa)) != 0 {
		t.Errorf("a preimage differs from itself")
	}
}

func TestHandEncoderMatchesEncodingJSON(t *testing.T) {
	pres := []*Preimage{
		{},
		{Version: 1, Kind: "BASE", Base: &BaseIdentity{Digest: "sha256:00", Template: "minimal", Unresolved: true}, Env: map[string]string{"PATH": "/bin"}},
		{Version: 1, Kind: "COPY", Args: map[string]string{"dest": "/a", "chown": "u:u"}, Sources: []string{"a", "b*"},
			Inputs: []InputFile{{Path: "a", Type: "file", Mode: 0o644, Digest: "sha256:11"}, {Path: "l", Type: "symlink", Mode: 0o777, Link: "a"}, {Path: "d", Type: "dir", Mode: 0o755}}},
		{Version: 1, Kind: "ENV", Args: map[string]string{"key": "Q", "value": "\"quoted\" \\ <tag> & \u2028 \x01 \t\n é \xff"}, User: "u'ser", Workdir: "/w d"},
	}
	for _, p := range mustCompile(t, knobFile(recipeKnobs{}), Options{}).Steps {
		d, _ := DecodePreimage(p.Preimage())
		pres = append(pres, d)
	}
	for i, p := range pres {
		if got, want := p.Encode(), p.encodeJSON(); !bytes.Equal(got, want) {
			t.Errorf("preimage %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\", "\x00\x1f\x7f", "\u2028\u2029", "\xff\xfe", "é€𝄞", "<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestSHA256DigestFormat(t *testing.T) {
	sum := sha256.Sum256([]byte("wrenn"))
	if got, want := sha256Digest(sum[:]), digest.FromBytes([]byte("wrenn")); got != want {
		t.Errorf("sha256Digest = %s, want %s", got, want)
	}
}

// TestJSONPlain puts every byte value at every position of strings of
// several lengths (the 8-byte loop and the tail) and compares jsonPlain
// with the byte-at-a-time definition.
func TestJSONPlain(t *testing.T) {
	plain := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
				return false
			}
		}
		return true
	}
	for _, n := range []int{1, 7, 8, 9, 16, 23} {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				if got, want := jsonPlain(string(b)), plain(string(b)); got != want {
					t.Fatalf("jsonPlain(%q) = %v, want %v", b, got, want)
				}
			}
		}
	}
}
