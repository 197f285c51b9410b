package lsp

import (
	"slices"

	"wrenn.dev/wrenn/lang"
)

// instrAt returns the instruction whose text covers byte offset off (its
// end included, so a cursor right after the last character counts) and
// its stage, or nils.
func instrAt(f *lang.File, off int) (lang.Instruction, *lang.Stage) {
	if f == nil {
		return nil, nil
	}
	for _, st := range f.Stages {
		for _, in := range stageInstrs(st) {
			r := in.Node().Range
			if start := min(r.Start.Offset, in.Node().KeywordRange.Start.Offset); start <= off && off <= r.End.Offset {
				return in, st
			}
		}
	}
	return nil, nil
}

// stageAt returns the stage a position belongs to: the last one starting
// at or before off.
func stageAt(f *lang.File, off int) *lang.Stage {
	if f == nil {
		return nil
	}
	var cur *lang.Stage
	for _, st := range f.Stages {
		if start, ok := stageStart(st); !ok || start <= off || cur == nil {
			cur = st
		}
	}
	return cur
}

// stageStart is the offset of a stage's first instruction.
func stageStart(st *lang.Stage) (int, bool) {
	ins := stageInstrs(st)
	if len(ins) == 0 {
		return 0, false
	}
	return ins[0].Node().Range.Start.Offset, true
}

// stageInstrs lists a stage's instructions with its FROM first.
func stageInstrs(st *lang.Stage) []lang.Instruction {
	if st.From == nil || slices.ContainsFunc(st.Instructions, func(in lang.Instruction) bool { return in == lang.Instruction(st.From) }) {
		return st.Instructions // the parser lists FROM among them
	}
	return append([]lang.Instruction{st.From}, st.Instructions...)
}

// stageNamed returns the stage called name that starts before offset
// before (a stage can only refer to earlier ones), or nil.
func stageNamed(f *lang.File, name string, before int) *lang.Stage {
	var found *lang.Stage
	for _, st := range f.Stages {
		if st.Name == "" || st.Name != name || st.From == nil {
			continue
		}
		if st.From.Range.Start.Offset < before {
			found = st
		}
	}
	return found
}

// inRange reports whether off lies in r, its end included.
func inRange(r lang.Range, off int) bool {
	return r.Start.Offset <= off && off <= r.End.Offset && r.End.Offset > r.Start.Offset
}
