package compiler

import (
	"sort"
	"strings"

	"wrenn.dev/wrenn/lang"
)

// CanonicalText renders an instruction for display: keyword in upper case,
// flags sorted by name, continuation lines already joined. It is never
// hashed.
func CanonicalText(in lang.Instruction) string {
	n := in.Node()
	parts := []string{string(n.Kind)}
	flags := make([]string, 0, len(n.Flags))
	for _, f := range n.Flags {
		if f.HasValue {
			flags = append(flags, "--"+f.Name+"="+f.Value)
		} else {
			flags = append(flags, "--"+f.Name)
		}
	}
	sort.Strings(flags)
	parts = append(parts, flags...)
	switch x := in.(type) {
	case *lang.RunInstr:
		parts = append(parts, x.Cmd.Text)
	case *lang.StartInstr:
		parts = append(parts, x.Cmd.Text)
	case *lang.HealthcheckInstr:
		parts = append(parts, x.Cmd.Text)
	case *lang.EnvInstr:
		parts = append(parts, x.Key.Value+"="+x.Value.Value)
	case *lang.WorkdirInstr:
		parts = append(parts, x.Path.Value)
	case *lang.UserInstr:
		parts = append(parts, x.Name.Value)
	case *lang.ArgInstr:
		s := x.Name.Value
		if x.Default != nil {
			s += "=" + x.Default.Value
		}
		parts = append(parts, s)
	case *lang.CopyInstr:
		for _, s := range x.Sources {
			parts = append(parts, s.Value)
		}
		parts = append(parts, x.Dest.Value)
	case *lang.FromInstr:
		parts = append(parts, x.Base.Value)
		if x.Name != nil {
			parts = append(parts, "AS", x.Name.Value)
		}
	}
	return strings.Join(parts, " ")
}
