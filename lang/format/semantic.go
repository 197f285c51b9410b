package format

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"wrenn.dev/wrenn/lang"
)

// Meaning is what a parsed Wrennfile says once layout is set aside: one
// entry per instruction in source order, plus the file-level facts. Two
// files with equal Meaning compile to the same steps with the same layer
// keys, because everything a key hashes comes from these fields.
type Meaning struct {
	// File holds directives, stage names and bases, and comment texts.
	File string
	// Instructions holds one fingerprint per instruction, FROMs included.
	Instructions []string
}

// Equal reports whether m and o describe the same file.
func (m Meaning) Equal(o Meaning) bool {
	return m.File == o.File && slices.Equal(m.Instructions, o.Instructions)
}

// MeaningOf fingerprints f. It walks the AST by reflection so that a field
// added to lang's AST later is compared too, without a change here; only
// what is layout by definition is skipped: source ranges, byte maps, the
// keyword as written, the order flags were written in.
func MeaningOf(f *lang.File) Meaning {
	var m Meaning
	var b strings.Builder
	for _, d := range f.Directives {
		fmt.Fprintf(&b, "directive %q=%q\n", d.Key, d.Value)
	}
	for _, s := range f.Stages {
		fmt.Fprintf(&b, "stage %d name=%q base=%q\n", s.Index, s.Name, s.Base)
	}
	for _, c := range f.Comments {
		// Blanks around a comment's text are layout.
		fmt.Fprintf(&b, "comment %q\n", strings.TrimSpace(c.Text))
	}
	fmt.Fprintf(&b, "recipe %v\n", f.Recipe)
	m.File = b.String()
	for _, in := range instructions(f) {
		m.Instructions = append(m.Instructions, fingerprint(in))
	}
	return m
}

// instructions flattens f's stages into one list in source order.
func instructions(f *lang.File) []lang.Instruction {
	var out []lang.Instruction
	for _, s := range f.Stages {
		// The parser lists a stage's FROM among its instructions too;
		// older ASTs did not, so add it only when missing.
		if s.From != nil && !slices.ContainsFunc(s.Instructions, func(in lang.Instruction) bool { return in == lang.Instruction(s.From) }) {
			out = append(out, s.From)
		}
		out = append(out, s.Instructions...)
	}
	return out
}

var (
	rangeType = reflect.TypeOf(lang.Range{})
	posType   = reflect.TypeOf(lang.Pos{})
)

// layoutFields are struct fields that record how something was written,
// not what it means.
var layoutFields = map[string]bool{
	"Keyword": true, // case as written; Kind is the meaning
	"Map":     true, // Shell byte offsets
	"Flags":   true, // compared as a set, see fingerprint
}

func fingerprint(in lang.Instruction) string {
	var b strings.Builder
	v := reflect.ValueOf(in)
	fmt.Fprintf(&b, "%T ", in)
	dump(&b, v)
	// Flags "in any order" mean the same (SPEC.md); their typed values are
	// dumped above, and the set of names and values as written here.
	var flags []string
	for _, f := range in.Node().Flags {
		flags = append(flags, fmt.Sprintf("%s=%q/%v", f.Name, f.Value, f.HasValue))
	}
	slices.Sort(flags)
	fmt.Fprintf(&b, " flags%q", flags)
	return b.String()
}

func dump(b *strings.Builder, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		dump(b, v.Elem())
	case reflect.Struct:
		if v.Type() == rangeType || v.Type() == posType {
			return
		}
		b.WriteString("{")
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() || layoutFields[sf.Name] || sf.Type == rangeType || sf.Type == posType {
				continue
			}
			b.WriteString(sf.Name)
			b.WriteString(":")
			dump(b, v.Field(i))
			b.WriteString(" ")
		}
		b.WriteString("}")
	case reflect.Slice, reflect.Array:
		b.WriteString("[")
		for i := range v.Len() {
			dump(b, v.Index(i))
			b.WriteString(",")
		}
		b.WriteString("]")
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(x, y reflect.Value) int {
			return strings.Compare(fmt.Sprint(x.Interface()), fmt.Sprint(y.Interface()))
		})
		b.WriteString("map[")
		for _, k := range keys {
			fmt.Fprintf(b, "%q:", fmt.Sprint(k.Interface()))
			dump(b, v.MapIndex(k))
			b.WriteString(",")
		}
		b.WriteString("]")
	case reflect.String:
		fmt.Fprintf(b, "%q", v.String())
	default:
		if v.CanInterface() {
			fmt.Fprintf(b, "%v", v.Interface())
		}
	}
}
