package compiler

import (
	"strconv"
	"strings"
	"time"

	"wrenn.dev/wrenn/lang"
)

// Hand-made ASTs for unit tests that must not depend on the parser.

type astBuilder struct {
	line int
}

func (b *astBuilder) rng() lang.Range {
	b.line++
	return lang.Range{File: "Wrennfile", Start: lang.Pos{Line: b.line, Column: 1, Offset: b.line * 100}, End: lang.Pos{Line: b.line, Column: 20, Offset: b.line*100 + 19}}
}

func (b *astBuilder) node(kind lang.Kind, flags ...*lang.Flag) lang.InstrNode {
	r := b.rng()
	return lang.InstrNode{Kind: kind, Keyword: string(kind), KeywordRange: r, Range: r, Flags: flags}
}

func word(s string, r lang.Range) lang.Word { return lang.Word{Value: s, Range: r} }

func shell(s string) lang.Shell { return lang.Shell{Text: s} }

func flag(name, value string) *lang.Flag {
	return &lang.Flag{Name: name, Value: value, HasValue: true}
}

func (b *astBuilder) run(cmd string, flags ...*lang.Flag) *lang.RunInstr {
	in := &lang.RunInstr{InstrNode: b.node(lang.KindRun, flags...), Cmd: shell(cmd)}
	for _, f := range flags {
		switch f.Name {
		case "timeout":
			in.Timeout, _ = time.ParseDuration(f.Value)
		case "user":
			in.User = f.Value
		case "no-cache":
			in.NoCache = true
		}
	}
	return in
}

func (b *astBuilder) start(cmd string) *lang.StartInstr {
	return &lang.StartInstr{InstrNode: b.node(lang.KindStart), Cmd: shell(cmd)}
}

func (b *astBuilder) env(k, v string) *lang.EnvInstr {
	n := b.node(lang.KindEnv)
	return &lang.EnvInstr{InstrNode: n, Key: word(k, n.Range), Value: word(v, n.Range)}
}

func (b *astBuilder) workdir(p string) *lang.WorkdirInstr {
	n := b.node(lang.KindWorkdir)
	return &lang.WorkdirInstr{InstrNode: n, Path: word(p, n.Range)}
}

func (b *astBuilder) user(u string) *lang.UserInstr {
	n := b.node(lang.KindUser)
	return &lang.UserInstr{InstrNode: n, Name: word(u, n.Range)}
}

func (b *astBuilder) arg(name string, def ...string) *lang.ArgInstr {
	n := b.node(lang.KindArg)
	in := &lang.ArgInstr{InstrNode: n, Name: word(name, n.Range)}
	if len(def) > 0 {
		w := word(def[0], n.Range)
		in.Default = &w
	}
	return in
}

// copy takes "src... dst" words and flags.
func (b *astBuilder) copy(args string, flags ...*lang.Flag) *lang.CopyInstr {
	n := b.node(lang.KindCopy, flags...)
	f := strings.Fields(args)
	in := &lang.CopyInstr{InstrNode: n}
	for i, s := range f[:len(f)-1] {
		r := n.Range
		r.Start.Column = 6 + i
		r.Start.Offset += 5 + i
		in.Sources = append(in.Sources, word(s, r))
	}
	in.Dest = word(f[len(f)-1], n.Range)
	for _, fl := range flags {
		switch fl.Name {
		case "chown":
			in.Chown = fl.Value
		case "chmod":
			in.Chmod = fl.Value
		case "from":
			in.From = fl.Value
		}
	}
	return in
}

func (b *astBuilder) healthcheck(cmd string) *lang.HealthcheckInstr {
	return &lang.HealthcheckInstr{InstrNode: b.node(lang.KindHealthcheck), Cmd: shell(cmd), Interval: 3 * time.Second, Timeout: 10 * time.Second}
}

func (b *astBuilder) from(base, name string) *lang.FromInstr {
	n := b.node(lang.KindFrom)
	in := &lang.FromInstr{InstrNode: n, Base: word(base, n.Range)}
	if name != "" {
		w := word(name, n.Range)
		in.Name = &w
	}
	return in
}

// file makes a one-stage file without FROM.
func file(ins ...lang.Instruction) *lang.File {
	return &lang.File{Name: "Wrennfile", Stages: []*lang.Stage{{Index: 0, Instructions: ins}}}
}

// stage makes a FROM stage.
func stage(idx int, from *lang.FromInstr, ins ...lang.Instruction) *lang.Stage {
	s := &lang.Stage{Index: idx, Base: from.Base.Value, From: from, Instructions: ins}
	if from.Name != nil {
		s.Name = from.Name.Value
	}
	return s
}

func keysOf(p *Plan) []string {
	var out []string
	for _, s := range p.Steps {
		out = append(out, string(s.Key))
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func timeAt(sec int64) time.Time { return time.Unix(sec, 0) }
