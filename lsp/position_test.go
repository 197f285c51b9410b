package lsp

import (
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"go.lsp.dev/protocol"
)

// utf16Col counts the UTF-16 code units of s, independently of mapper.
func utf16Col(s string) uint32 { return uint32(len(utf16.Encode([]rune(s)))) }

func TestMapperPositions(t *testing.T) {
	text := "RUN echo héllo\nENV X=😀 $Y\n\nCOPY a b\n"
	m := newMapper(text)
	cases := []struct {
		off  int
		want protocol.Position
	}{
		{0, protocol.Position{Line: 0, Character: 0}},
		{len("RUN echo h"), protocol.Position{Line: 0, Character: 10}},
		{len("RUN echo hé"), protocol.Position{Line: 0, Character: 11}}, // é: 2 bytes, 1 unit
		{len("RUN echo héllo"), protocol.Position{Line: 0, Character: utf16Col("RUN echo héllo")}},
		{len("RUN echo héllo\n"), protocol.Position{Line: 1, Character: 0}},
		{len("RUN echo héllo\nENV X=😀"), protocol.Position{Line: 1, Character: 8}}, // 😀: 4 bytes, 2 units
		{len("RUN echo héllo\nENV X=😀 $"), protocol.Position{Line: 1, Character: 10}},
		{len("RUN echo héllo\nENV X=😀 $Y\n"), protocol.Position{Line: 2, Character: 0}},
		{len(text), protocol.Position{Line: 4, Character: 0}},
		{len(text) + 10, protocol.Position{Line: 4, Character: 0}}, // clamped
	}
	for _, c := range cases {
		if got := m.position(c.off); got != c.want {
			t.Errorf("position(%d) = %+v, want %+v", c.off, got, c.want)
		}
		if c.off <= len(text) {
			if back := m.offset(c.want); back != c.off {
				t.Errorf("offset(%+v) = %d, want %d", c.want, back, c.off)
			}
		}
	}
	// A position inside a surrogate pair or past the line's end.
	if got, want := m.offset(protocol.Position{Line: 1, Character: 7}), len("RUN echo héllo\nENV X="); got != want {
		t.Errorf("offset inside a surrogate pair = %d, want the rune's start %d", got, want)
	}
	if got, want := m.offset(protocol.Position{Line: 0, Character: 99}), len("RUN echo héllo"); got != want {
		t.Errorf("offset past the line end = %d, want the line end %d", got, want)
	}
	if got := m.offset(protocol.Position{Line: 99}); got != len(text) {
		t.Errorf("offset past the last line = %d, want %d", got, len(text))
	}
}

func TestMapperInvalidUTF8(t *testing.T) {
	text := "RUN \xff\xfe x"
	m := newMapper(text)
	// Each invalid byte is one U+FFFD, one UTF-16 unit.
	if got := m.position(len(text)); got.Character != uint32(len(text)) {
		t.Errorf("position at end = %+v, want character %d", got, len(text))
	}
	if got := m.offset(protocol.Position{Character: 5}); got != 5 {
		t.Errorf("offset(5) = %d, want 5", got)
	}
}

func TestVarAt(t *testing.T) {
	text := "ENV A=$HOME/x ${B}y $$C ${D:-e}"
	cases := []struct {
		off  int
		name string
		ok   bool
	}{
		{6, "HOME", true},
		{10, "HOME", true},
		{11, "HOME", true}, // right after the name
		{12, "", false},
		{14, "B", true},
		{17, "B", true},
		{21, "", false}, // $$C is an escaped dollar
		{24, "D", true},
	}
	for _, c := range cases {
		r, ok := varAt(text, c.off)
		if ok != c.ok || r.Name != c.name {
			t.Errorf("varAt(%d) = %+v, %v; want %q, %v", c.off, r, ok, c.name, c.ok)
		}
	}
}

// FuzzMapper checks that every rune-boundary offset survives the round trip
// through an LSP position, and that positions are monotonic.
func FuzzMapper(f *testing.F) {
	f.Add("RUN echo héllo\nENV X=😀 $Y\n")
	f.Add("\xff\n\xf0\x9f\n😀😀\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		m := newMapper(text)
		var prev protocol.Position
		for off := 0; off <= len(text); off++ {
			p := m.position(off)
			if less(p, prev) {
				t.Fatalf("position(%d) = %v before position(%d) = %v", off, p, off-1, prev)
			}
			prev = p
			if off == len(text) || isRuneStart(text, off) {
				if back := m.offset(p); back != off {
					t.Fatalf("offset(position(%d) = %v) = %d", off, p, back)
				}
			}
		}
	})
}

// isRuneStart reports whether off starts a rune as utf8 decoding sees it
// (an invalid byte is a rune of its own).
func isRuneStart(text string, off int) bool {
	for i := 0; i < len(text); {
		if i == off {
			return true
		}
		if i > off {
			return false
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	return false
}
