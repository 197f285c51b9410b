package compiler

import (
	"slices"
	"strings"

	"wrenn.dev/wrenn/lang"
)

// CanonicalText renders an instruction for display: keyword in upper case,
// flags sorted by name, continuation lines already joined. It is never
// hashed. The text is written in one allocation.
func CanonicalText(in lang.Instruction) string {
	n := in.Node()
	var small [8]string
	parts := textParts(in, small[:0])
	size := len(n.Kind)
	for _, p := range parts {
		size += len(p)
	}
	if len(parts) > 0 {
		size++
	}
	var flags []*lang.Flag
	if len(n.Flags) > 0 {
		flags = slices.Clone(n.Flags)
		slices.SortFunc(flags, func(a, b *lang.Flag) int { return strings.Compare(flagText(a), flagText(b)) })
		for _, f := range flags {
			size += 3 + len(f.Name)
			if f.HasValue {
				size += 1 + len(f.Value)
			}
		}
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(string(n.Kind))
	for _, f := range flags {
		b.WriteString(" --")
		b.WriteString(f.Name)
		if f.HasValue {
			b.WriteByte('=')
			b.WriteString(f.Value)
		}
	}
	if len(parts) > 0 {
		b.WriteByte(' ')
	}
	for _, p := range parts {
		b.WriteString(p)
	}
	return b.String()
}

// canonicalText is CanonicalText(in), taken from the source without a
// copy when the instruction is written canonically there (upper-case
// keyword, no flags, one space, one line), as most are.
func canonicalText(f *lang.File, in lang.Instruction) string {
	n := in.Node()
	if len(n.Flags) > 0 || n.Keyword != string(n.Kind) {
		return CanonicalText(in)
	}
	src := f.SourceText(n.Range)
	var small [8]string
	parts := textParts(in, small[:0])
	rest, ok := strings.CutPrefix(src, string(n.Kind))
	if ok && len(parts) > 0 {
		rest, ok = strings.CutPrefix(rest, " ")
	}
	for _, p := range parts {
		if !ok {
			break
		}
		rest, ok = strings.CutPrefix(rest, p)
	}
	if !ok || rest != "" {
		return CanonicalText(in)
	}
	return src
}

// textParts appends what follows the keyword and flags in the canonical
// text, to be written one after the other (separators included).
func textParts(in lang.Instruction, parts []string) []string {
	switch x := in.(type) {
	case *lang.RunInstr:
		parts = append(parts, x.Cmd.Text)
	case *lang.StartInstr:
		parts = append(parts, x.Cmd.Text)
	case *lang.HealthcheckInstr:
		parts = append(parts, x.Cmd.Text)
	case *lang.EnvInstr:
		parts = append(parts, x.Key.Value, "=", x.Value.Value)
	case *lang.WorkdirInstr:
		parts = append(parts, x.Path.Value)
	case *lang.UserInstr:
		parts = append(parts, x.Name.Value)
	case *lang.ArgInstr:
		parts = append(parts, x.Name.Value)
		if x.Default != nil {
			parts = append(parts, "=", x.Default.Value)
		}
	case *lang.CopyInstr:
		for _, s := range x.Sources {
			parts = append(parts, s.Value, " ")
		}
		parts = append(parts, x.Dest.Value)
	case *lang.FromInstr:
		parts = append(parts, x.Base.Value)
		if x.Name != nil {
			parts = append(parts, " AS ", x.Name.Value)
		}
	}
	return parts
}

// flagText is how a flag is written, the order CanonicalText sorts flags
// in.
func flagText(f *lang.Flag) string {
	if f.HasValue {
		return "--" + f.Name + "=" + f.Value
	}
	return "--" + f.Name
}
