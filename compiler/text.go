package compiler

import (
	"slices"
	"strings"

	"wrenn.dev/wrenn/lang"
)

// CanonicalText renders an instruction for display: keyword in upper case,
// flags sorted by name, continuation lines already joined. It is never
// hashed. The text is written in one allocation (Compile makes one per
// step).
func CanonicalText(in lang.Instruction) string {
	n := in.Node()
	var small [8]string
	parts := small[:0]
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

// flagText is how a flag is written, the order CanonicalText sorts flags
// in.
func flagText(f *lang.Flag) string {
	if f.HasValue {
		return "--" + f.Name + "=" + f.Value
	}
	return "--" + f.Name
}
