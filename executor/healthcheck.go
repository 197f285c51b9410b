package executor

import (
	"fmt"

	"wrenn.dev/wrenn/lang"
)

// ParseHealthcheck parses a healthcheck given to the build instead of in
// the Wrennfile (the seed's CreateBuild `healthcheck` parameter, `wrenn
// build --healthcheck`): a HEALTHCHECK line without its keyword,
// `[--interval=D] [--timeout=D] [--start-period=D] [--retries=N] [CMD]
// <command>`, with the same defaults (3 s, 10 s, 0, 0 = unlimited). name
// is where positions in errors point ("--healthcheck" for the flag).
func ParseHealthcheck(name, spec string) (*lang.HealthcheckInstr, error) {
	hc, diags := lang.ParseHealthcheck(name, spec)
	if errs := diags.Errors(); len(errs) > 0 {
		return nil, fmt.Errorf("invalid healthcheck %q:\n%s", spec, errorLines(errs))
	}
	return hc, nil
}

// WithHealthcheck returns f with hc appended to every stage, as if each
// ended in that HEALTHCHECK line: the compiler uses the last HEALTHCHECK of
// the target stage and ignores the others, so hc sets or overrides the
// target's healthcheck whichever stage --target picks. f is not changed.
func WithHealthcheck(f *lang.File, hc *lang.HealthcheckInstr) *lang.File {
	if hc == nil {
		return f
	}
	g := *f
	if len(f.Stages) == 0 {
		g.Stages = []*lang.Stage{{Index: 0, Instructions: []lang.Instruction{hc}}}
		return &g
	}
	g.Stages = make([]*lang.Stage, len(f.Stages))
	for i, s := range f.Stages {
		c := *s
		c.Instructions = append(append(make([]lang.Instruction, 0, len(s.Instructions)+1), s.Instructions...), hc)
		g.Stages[i] = &c
	}
	return &g
}
