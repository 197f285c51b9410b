package lang

import (
	"time"

	"mvdan.cc/sh/v3/syntax"
)

// File is a parsed Wrennfile. It is always returned, even with errors: it
// holds every instruction that could be lowered, so editors and the linter
// see as much of a broken file as possible.
type File struct {
	Name   string
	Source []byte
	// Directives come from the comment block at the top of the file
	// (see SPEC.md "Directives").
	Directives []*Directive
	// Stages in source order. A file without FROM has one implicit stage
	// whose From is nil and whose Base is empty (the build's base template).
	Stages []*Stage
	// Comments in source order, including directive lines.
	Comments []*Comment
	// Recipe is true when the file came from the seed's JSON list of lines
	// (ParseRecipe): line N is element N.
	Recipe bool

	text string // Source as a string; the AST's strings are substrings of it
}

// SourceText returns the source text r covers as a substring of one
// string the parser made of Source (no copy: callers may keep it, as they
// keep the AST's strings). It is "" for a file the parser did not make and
// for a range outside the source.
func (f *File) SourceText(r Range) string {
	if r.Start.Offset < 0 || r.End.Offset < r.Start.Offset || r.End.Offset > len(f.text) {
		return ""
	}
	return f.text[r.Start.Offset:r.End.Offset]
}

// Directive is one `# wrenn:key=value` line of the top-of-file block.
type Directive struct {
	Key   string
	Value string
	Range Range
}

// Comment is one `#` comment line (without its newline).
type Comment struct {
	Text  string // including the leading '#'
	Range Range
}

// Stage is a FROM and the instructions up to the next FROM.
type Stage struct {
	Index int
	// Name is the AS name, or "" when the stage has none.
	Name string
	// Base is the FROM argument: a template name or an earlier stage's
	// name. Empty for the implicit first stage.
	Base string
	// From is nil for the implicit first stage of a file without FROM.
	From         *FromInstr
	Instructions []Instruction
	Range        Range
}

// Kind names an instruction in upper case, as SPEC.md spells it.
type Kind string

const (
	KindFrom        Kind = "FROM"
	KindRun         Kind = "RUN"
	KindStart       Kind = "START"
	KindEnv         Kind = "ENV"
	KindWorkdir     Kind = "WORKDIR"
	KindUser        Kind = "USER"
	KindCopy        Kind = "COPY"
	KindHealthcheck Kind = "HEALTHCHECK"
	KindArg         Kind = "ARG"
)

// Kinds lists every instruction keyword in SPEC.md order.
var Kinds = []Kind{KindFrom, KindArg, KindRun, KindStart, KindEnv, KindWorkdir, KindUser, KindCopy, KindHealthcheck}

// Instruction is implemented by every *XxxInstr type.
type Instruction interface {
	Node() *InstrNode
}

// InstrNode is what every instruction has in common.
type InstrNode struct {
	Kind Kind
	// Keyword is the keyword as written ("run", "Run", "RUN") and its range.
	Keyword      string
	KeywordRange Range
	// Flags in source order, as written. The typed fields of each
	// instruction hold their validated values.
	Flags []*Flag
	// Range covers the whole instruction, continuation lines included, up to
	// (not including) the final newline.
	Range Range
	// Suppress holds the rule codes named by a `# wrenn-ignore=code,…`
	// comment on the line before this instruction ("all" for every rule).
	Suppress []string
	// NoCache is the per-step --no-cache flag.
	NoCache bool
}

func (n *InstrNode) Node() *InstrNode { return n }

// Flag is one `--name=value` (or bare `--name`) flag.
type Flag struct {
	Name       string // without the leading "--"
	Value      string
	HasValue   bool
	Range      Range
	NameRange  Range
	ValueRange Range
}

// Flag returns the flag with the given name, or nil.
func (n *InstrNode) Flag(name string) *Flag {
	for _, f := range n.Flags {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Word is a literal argument with its range.
type Word struct {
	Value string
	Range Range
}

// Shell is a RUN, START or HEALTHCHECK body: the exact text the executor
// sends to /bin/sh -c, after continuation lines are joined.
type Shell struct {
	Text string
	// Range covers the body in the source (may span several lines).
	Range Range
	// Map translates a byte offset in Text to a byte offset in the source,
	// so positions found inside the joined text can be reported exactly.
	// Map has len(Text)+1 entries, or is nil when Text is one run of the
	// source starting at Range.Start (no continuation lines): use
	// SourceOffset.
	Map []int

	// tree is Text parsed as shell by the parser (nil when it does not
	// parse); bash is true when only the bash dialect accepts it.
	tree *syntax.File
	bash bool
}

// SourceOffset returns the source byte offset of Text[i].
func (s *Shell) SourceOffset(i int) int {
	if i < 0 {
		return s.Range.Start.Offset
	}
	if s.Map == nil {
		return s.Range.Start.Offset + min(i, len(s.Text))
	}
	if len(s.Map) == 0 {
		return s.Range.Start.Offset
	}
	if i >= len(s.Map) {
		return s.Map[len(s.Map)-1]
	}
	return s.Map[i]
}

// FromInstr is `FROM <template> [AS <name>]`.
type FromInstr struct {
	InstrNode
	Base Word
	Name *Word // nil without AS
}

// ArgInstr is `ARG NAME[=default]`.
type ArgInstr struct {
	InstrNode
	Name    Word
	Default *Word // nil without '='
}

// RunInstr is `RUN [--timeout=D] [--user=U] [--no-cache] <cmd>`.
type RunInstr struct {
	InstrNode
	Timeout time.Duration // 0: the phase default
	User    string        // "": the current user
	Cmd     Shell
}

// StartInstr is `START <cmd>`.
type StartInstr struct {
	InstrNode
	Cmd Shell
}

// EnvInstr is `ENV KEY=VALUE`: split on the first '=', value literal
// (spaces and quotes kept, expanded once by the compiler).
type EnvInstr struct {
	InstrNode
	Key   Word
	Value Word
}

// WorkdirInstr is `WORKDIR <path>` (rest of line).
type WorkdirInstr struct {
	InstrNode
	Path Word
}

// UserInstr is `USER <name>`.
type UserInstr struct {
	InstrNode
	Name Word
}

// CopyInstr is `COPY [--chown=U[:G]] [--chmod=MODE] [--from=STAGE] <src>... <dst>`.
type CopyInstr struct {
	InstrNode
	Sources []Word
	Dest    Word
	Chown   string
	Chmod   string // as written, octal
	From    string // stage name, "" for the build context
}

// HealthcheckInstr is `HEALTHCHECK [--interval= --timeout= --start-period= --retries=] [CMD] <cmd>`.
type HealthcheckInstr struct {
	InstrNode
	Interval    time.Duration // default 3s
	Timeout     time.Duration // default 10s
	StartPeriod time.Duration // default 0
	Retries     int           // default 0 = unlimited
	Cmd         Shell
}
