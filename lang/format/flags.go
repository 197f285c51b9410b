package format

import (
	"slices"

	"wrenn.dev/wrenn/lang"
)

// flagOrder is the fixed order flags are printed in, per instruction
// (docs/fmt.md "Flags"). What a step runs as and where it reads from comes
// first, limits after, cache control last. Flags a table does not name keep
// their written order, after the named ones.
var flagOrder = map[lang.Kind][]string{
	lang.KindFrom:        {"no-cache"},
	lang.KindArg:         {"no-cache"},
	lang.KindRun:         {"user", "timeout", "no-cache"},
	lang.KindStart:       {"user", "no-cache"},
	lang.KindEnv:         {"no-cache"},
	lang.KindWorkdir:     {"no-cache"},
	lang.KindUser:        {"no-cache"},
	lang.KindCopy:        {"from", "chown", "chmod", "no-cache"},
	lang.KindHealthcheck: {"interval", "timeout", "start-period", "retries", "no-cache"},
}

// sortFlags returns the flags of an instruction of kind k in canonical order.
func sortFlags(k lang.Kind, flags []*lang.Flag) []*lang.Flag {
	order := flagOrder[k]
	rank := func(f *lang.Flag) int {
		if i := slices.Index(order, f.Name); i >= 0 {
			return i
		}
		return len(order)
	}
	out := slices.Clone(flags)
	slices.SortStableFunc(out, func(a, b *lang.Flag) int { return rank(a) - rank(b) })
	return out
}
