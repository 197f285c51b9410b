package lang

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The name checks are byte loops rather than regexps compiled at package
// init: `wrenn compile` starts on every editor save, and each regexp cost
// start-up time for every command. TestNameChecksMatchRegexps keeps each
// equal to the regexp in its comment.

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// allBytes reports whether s is non-empty, first(s[0]) and rest(c) for
// every later byte.
func allBytes(s string, first, rest func(byte) bool) bool {
	if s == "" || !first(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !rest(s[i]) {
			return false
		}
	}
	return true
}

// validUserName: ^[A-Za-z_][A-Za-z0-9_-]*$
func validUserName(s string) bool {
	return allBytes(s, func(c byte) bool { return isAlpha(c) || c == '_' },
		func(c byte) bool { return isAlpha(c) || isDigit(c) || c == '_' || c == '-' })
}

// validVarName: ^[A-Za-z_][A-Za-z0-9_]*$
func validVarName(s string) bool {
	return allBytes(s, func(c byte) bool { return isAlpha(c) || c == '_' },
		func(c byte) bool { return isAlpha(c) || isDigit(c) || c == '_' })
}

// validStageName: ^[A-Za-z0-9][A-Za-z0-9_.-]*$
func validStageName(s string) bool {
	return allBytes(s, func(c byte) bool { return isAlpha(c) || isDigit(c) },
		func(c byte) bool { return isAlpha(c) || isDigit(c) || c == '_' || c == '.' || c == '-' })
}

// validChmod: ^[0-7]{3,4}$
func validChmod(s string) bool {
	octal := func(c byte) bool { return c >= '0' && c <= '7' }
	return (len(s) == 3 || len(s) == 4) && allBytes(s, octal, octal)
}

// isNumeric: ^[0-9]+$
func isNumeric(s string) bool { return allBytes(s, isDigit, isDigit) }

// keywords are the instruction keywords, for "did you mean".
var keywords = func() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = string(k)
	}
	return out
}()

// lowering is one instruction being lowered.
type lowering struct {
	p     *parser
	l     *logical
	node  InstrNode
	rest  string // argument text (after flags), "" when none
	at    int    // index of rest in l.text
	kwEnd int    // index after the keyword in l.text
}

func (c *lowering) rng(a, b int) Range {
	s, e := c.l.span(a, b)
	return c.p.li.Range(s, e)
}

func (c *lowering) word(a, b int) Word { return Word{Value: c.l.text[a:b], Range: c.rng(a, b)} }

// restRange is the range of the arguments, or the empty range just after
// the keyword when there are none (where a missing argument belongs).
func (c *lowering) restRange() Range {
	if c.rest == "" {
		return c.rng(len(c.l.text), len(c.l.text))
	}
	return c.rng(c.at, len(c.l.text))
}

func (c *lowering) errorf(code string, r Range, detail, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	c.p.diag(SeverityError, code, r, msg, detail)
}

// fields splits the arguments on whitespace, keeping each word's range.
func (c *lowering) fields() []Word {
	var out []Word
	t := c.l.text
	for i := c.at; i < len(t); {
		for i < len(t) && isSpace(t[i]) {
			i++
		}
		j := wordEnd(t, i)
		if j > i {
			out = append(out, c.word(i, j))
		}
		i = j
	}
	return out
}

func (p *parser) lower(l *logical, gi *gInstr) {
	kw := gi.Keyword
	c := &lowering{p: p, l: l}
	kind := Kind(strings.ToUpper(kw.Value))
	c.node = InstrNode{
		Kind:         kind,
		Keyword:      kw.Value,
		KeywordRange: c.rng(kw.Pos.Offset, kw.Pos.Offset+len(kw.Value)),
		Range:        c.rng(kw.Pos.Offset, len(l.text)),
		Suppress:     l.suppress,
	}
	c.kwEnd = kw.Pos.Offset + len(kw.Value)
	if gi.Rest != nil {
		c.rest, c.at = gi.Rest.Value, gi.Rest.Pos.Offset
	} else {
		c.at = len(l.text)
	}
	if _, ok := InstructionDocs[kind]; !ok {
		c.errorf(CodeUnknownInstruction, c.node.KeywordRange, DidYouMean(kw.Value, keywords), "unknown instruction %q", kw.Value)
		return
	}
	c.flags(gi.Flags)
	var in Instruction
	switch kind {
	case KindFrom:
		in = c.from()
	case KindArg:
		in = c.arg()
	case KindRun:
		in = c.run()
	case KindStart:
		in = c.start()
	case KindEnv:
		in = c.env()
	case KindWorkdir:
		in = c.workdir()
	case KindUser:
		in = c.user()
	case KindCopy:
		in = c.copyInstr()
	case KindHealthcheck:
		in = c.healthcheck()
	}
	p.add(in)
}

// add appends an instruction to the current stage, opening stages at FROM.
func (p *parser) add(in Instruction) {
	n := in.Node()
	if from, ok := in.(*FromInstr); ok {
		if cur := p.stage; cur != nil && cur.From == nil {
			for _, prev := range cur.Instructions {
				if pn := prev.Node(); pn.Kind != KindArg {
					p.diags = append(p.diags, Diagnostic{
						Severity: SeverityError, Code: CodeFromNotFirst, Range: n.KeywordRange,
						Message: "only ARG may come before the first FROM",
						Detail:  "move the FROM to the top, or the " + string(pn.Kind) + " below it",
						Related: []Related{{Message: string(pn.Kind) + " before the first FROM", Range: pn.Range}},
					})
					break
				}
			}
		}
		st := &Stage{Index: len(p.file.Stages), Base: from.Base.Value, From: from, Range: n.Range}
		if from.Name != nil {
			st.Name = from.Name.Value
		}
		p.file.Stages = append(p.file.Stages, st)
		p.stage = st
	} else if p.stage == nil {
		p.stage = &Stage{Index: 0, Range: n.Range}
		p.file.Stages = append(p.file.Stages, p.stage)
	}
	p.stage.Instructions = append(p.stage.Instructions, in)
	p.stage.Range.End = n.Range.End
}

// flags lowers --name[=value] tokens and reports unknown and repeated ones.
func (c *lowering) flags(gfs []string) {
	known := flagNames(c.node.Kind)
	seen := map[string]*Flag{}
	at := c.kwEnd
	for _, text := range gfs {
		for at < len(c.l.text) && isSpace(c.l.text[at]) {
			at++
		}
		a, b := at, at+len(text)
		at = b
		body := text[2:]
		f := &Flag{Name: body, Range: c.rng(a, b)}
		if n, v, ok := strings.Cut(body, "="); ok {
			f.Name, f.Value, f.HasValue = n, v, true
			f.ValueRange = c.rng(a+2+len(n)+1, b)
		}
		f.NameRange = c.rng(a+2, a+2+len(f.Name))
		if !contains(known, f.Name) {
			detail := DidYouMean(f.Name, known)
			if detail != "" {
				detail = "did you mean --" + Suggest(f.Name, known) + "?"
			} else if len(known) > 0 {
				detail = string(c.node.Kind) + " takes --" + strings.Join(known, ", --")
			} else {
				detail = string(c.node.Kind) + " takes no flags"
			}
			c.errorf(CodeUnknownFlag, f.NameRange, detail, "unknown flag --%s for %s", f.Name, c.node.Kind)
			continue
		}
		if first, ok := seen[f.Name]; ok {
			c.p.diags = append(c.p.diags, Diagnostic{
				Severity: SeverityError, Code: CodeDuplicateFlag, Range: f.Range,
				Message: "flag --" + f.Name + " given twice", Detail: "the last one would count",
				Related: []Related{{Message: "first given here", Range: first.Range}},
			})
		} else {
			seen[f.Name] = f
		}
		c.node.Flags = append(c.node.Flags, f)
		if f.Name == noCacheFlag.Name {
			c.node.NoCache = c.boolFlag(f)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// value returns a flag's value, reporting a bare flag that needs one.
func (c *lowering) value(f *Flag) (string, bool) {
	if !f.HasValue {
		c.errorf(CodeInvalidFlagValue, f.Range, "write --"+f.Name+"=<value>", "flag --%s needs a value", f.Name)
		return "", false
	}
	return f.Value, true
}

func (c *lowering) boolFlag(f *Flag) bool {
	if !f.HasValue {
		return true
	}
	v, err := strconv.ParseBool(f.Value)
	if err != nil {
		c.errorf(CodeInvalidFlagValue, f.ValueRange, "", "flag --%s takes true or false, not %q", f.Name, f.Value)
	}
	return v
}

// duration parses a Go duration (a bare 0 is allowed). positive makes 0 an
// error too, for intervals a ticker cannot run with.
func (c *lowering) duration(f *Flag, def time.Duration, positive bool) time.Duration {
	v, ok := c.value(f)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		c.errorf(CodeInvalidDuration, f.ValueRange, "use a Go duration such as 30s, 5m or 1h30m", "invalid duration %q for --%s", v, f.Name)
		return def
	case d < 0:
		c.errorf(CodeInvalidDuration, f.ValueRange, "", "--%s must not be negative", f.Name)
		return def
	case positive && d == 0:
		c.errorf(CodeInvalidDuration, f.ValueRange, "", "--%s must be positive", f.Name)
		return def
	}
	return d
}

func (c *lowering) needArgs(what string) bool {
	if strings.TrimSpace(c.rest) == "" {
		c.errorf(CodeMissingArgument, c.restRange(), "syntax: "+InstructionDocs[c.node.Kind].Syntax, "%s needs %s", c.node.Kind, what)
		return false
	}
	return true
}

// missing is the empty word where a missing argument belongs, so even
// partial nodes have ranges inside the source.
func (c *lowering) missing() Word { return Word{Range: c.restRange()} }

func (c *lowering) shell() Shell {
	sh := Shell{Text: c.rest, Range: c.restRange()}
	if c.l.m != nil {
		sh.Map = c.l.m[c.at:]
		if c.rest == "" {
			sh.Map = c.l.m[len(c.l.text):]
		}
	}
	c.p.checkShell(&sh)
	return sh
}

func (c *lowering) from() *FromInstr {
	in := &FromInstr{InstrNode: c.node, Base: c.missing()}
	ws := c.fields()
	if !c.needArgs("a template or stage name") {
		return in
	}
	in.Base = ws[0]
	switch {
	case len(ws) == 1:
	case len(ws) == 2 && strings.EqualFold(ws[1].Value, "AS"):
		c.errorf(CodeMissingArgument, c.rng(len(c.l.text), len(c.l.text)), "", "AS needs a stage name")
	case !strings.EqualFold(ws[1].Value, "AS"):
		c.errorf(CodeExtraArgument, ws[1].Range, "syntax: FROM <template> [AS <name>]", "unexpected %q after the FROM template", ws[1].Value)
	default:
		name := ws[2]
		in.Name = &name
		if !validStageName(name.Value) {
			c.errorf(CodeInvalidStageName, name.Range, "a stage name matches [A-Za-z0-9][A-Za-z0-9_.-]*", "invalid stage name %q", name.Value)
		}
		if len(ws) > 3 {
			c.errorf(CodeExtraArgument, ws[3].Range, "syntax: FROM <template> [AS <name>]", "unexpected %q after the stage name", ws[3].Value)
		}
	}
	return in
}

func (c *lowering) arg() *ArgInstr {
	in := &ArgInstr{InstrNode: c.node, Name: c.missing()}
	if !c.needArgs("a name") {
		return in
	}
	t := c.l.text
	if eq := strings.IndexByte(c.rest, '='); eq >= 0 {
		in.Name = c.word(c.at, c.at+eq)
		d := c.word(c.at+eq+1, len(t))
		in.Default = &d
	} else {
		in.Name = c.word(c.at, len(t))
	}
	if !validVarName(in.Name.Value) {
		c.errorf(CodeInvalidArgName, in.Name.Range, "an ARG name matches [A-Za-z_][A-Za-z0-9_]*; one ARG per line", "invalid ARG name %q", in.Name.Value)
	}
	return in
}

func (c *lowering) run() *RunInstr {
	in := &RunInstr{}
	for _, f := range c.node.Flags {
		switch f.Name {
		case "timeout":
			in.Timeout = c.duration(f, 0, false)
		case "user":
			if v, ok := c.value(f); ok {
				in.User = v
				if !validUserName(v) {
					c.errorf(CodeInvalidUserName, f.ValueRange, "a user name matches [A-Za-z_][A-Za-z0-9_-]*", "invalid user name %q", v)
				}
			}
		}
	}
	c.needArgs("a command")
	in.Cmd = c.shell()
	in.InstrNode = c.node
	return in
}

func (c *lowering) start() *StartInstr {
	in := &StartInstr{InstrNode: c.node}
	c.needArgs("a command")
	in.Cmd = c.shell()
	return in
}

func (c *lowering) env() *EnvInstr {
	in := &EnvInstr{InstrNode: c.node, Key: c.missing(), Value: c.missing()}
	if !c.needArgs("KEY=VALUE") {
		return in
	}
	t := c.l.text
	eq := strings.IndexByte(c.rest, '=')
	if eq < 0 {
		in.Key = c.word(c.at, len(t))
		in.Value = c.word(len(t), len(t))
		c.errorf(CodeEnvMissingEquals, c.restRange(), "write ENV "+firstWord(c.rest)+"=<value>", "ENV needs KEY=VALUE, found no '='")
		return in
	}
	in.Key = c.word(c.at, c.at+eq)
	in.Value = c.word(c.at+eq+1, len(t))
	switch {
	case in.Key.Value == "":
		c.errorf(CodeInvalidEnvKey, c.rng(c.at, c.at+1), "", "ENV key is empty")
	case !validVarName(in.Key.Value):
		c.errorf(CodeInvalidEnvKey, in.Key.Range, "an ENV key matches [A-Za-z_][A-Za-z0-9_]*; the value starts after the first '='",
			"invalid ENV key %q", in.Key.Value)
	}
	return in
}

func firstWord(s string) string { return s[:wordEnd(s, 0)] }

func (c *lowering) workdir() *WorkdirInstr {
	in := &WorkdirInstr{InstrNode: c.node, Path: c.missing()}
	if c.needArgs("a path") {
		in.Path = c.word(c.at, len(c.l.text))
	}
	return in
}

func (c *lowering) user() *UserInstr {
	in := &UserInstr{InstrNode: c.node, Name: c.missing()}
	if !c.needArgs("a user name") {
		return in
	}
	in.Name = c.word(c.at, len(c.l.text))
	if !validUserName(in.Name.Value) {
		c.errorf(CodeInvalidUserName, in.Name.Range, "a user name matches [A-Za-z_][A-Za-z0-9_-]*", "invalid user name %q", in.Name.Value)
	}
	return in
}

func (c *lowering) copyInstr() *CopyInstr {
	in := &CopyInstr{}
	for _, f := range c.node.Flags {
		if f.Name == noCacheFlag.Name {
			continue
		}
		v, ok := c.value(f)
		if !ok {
			continue
		}
		switch f.Name {
		case "chown":
			in.Chown = v
			u, g, hasGroup := strings.Cut(v, ":")
			if !validOwner(u) || hasGroup && !validOwner(g) {
				c.errorf(CodeInvalidFlagValue, f.ValueRange, "write --chown=user or --chown=user:group (names or numeric ids)", "invalid --chown value %q", v)
			}
		case "chmod":
			in.Chmod = v
			if !validChmod(v) {
				c.errorf(CodeInvalidFlagValue, f.ValueRange, "write three or four octal digits, such as 0644", "invalid --chmod mode %q", v)
			}
		case "from":
			in.From = v
			if v == "" {
				c.errorf(CodeInvalidFlagValue, f.Range, "", "--from needs a stage name or index")
			}
		}
	}
	in.InstrNode = c.node
	in.Dest = c.missing()
	ws := c.fields()
	if len(ws) < 2 {
		if len(ws) == 1 {
			c.errorf(CodeMissingArgument, c.rng(len(c.l.text), len(c.l.text)), "syntax: "+InstructionDocs[KindCopy].Syntax, "COPY needs at least one source and a destination")
			in.Dest = ws[0]
		} else {
			c.needArgs("at least one source and a destination")
		}
		return in
	}
	in.Sources, in.Dest = ws[:len(ws)-1], ws[len(ws)-1]
	for _, src := range in.Sources {
		switch {
		case strings.HasPrefix(src.Value, "/") && in.From == "":
			c.errorf(CodeCopySourceEscapes, src.Range, "sources are relative to the build context", "COPY source %q is absolute", src.Value)
		case hasDotDot(src.Value):
			c.errorf(CodeCopySourceEscapes, src.Range, "sources must stay inside the build context", "COPY source %q has a '..' component", src.Value)
		}
	}
	return in
}

func validOwner(s string) bool { return isNumeric(s) || validUserName(s) }

func hasDotDot(p string) bool {
	for part := range strings.SplitSeq(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

func (c *lowering) healthcheck() *HealthcheckInstr {
	in := &HealthcheckInstr{Interval: 3 * time.Second, Timeout: 10 * time.Second}
	for _, f := range c.node.Flags {
		switch f.Name {
		case "interval":
			in.Interval = c.duration(f, in.Interval, true)
		case "timeout":
			in.Timeout = c.duration(f, in.Timeout, true)
		case "start-period":
			in.StartPeriod = c.duration(f, 0, false)
		case "retries":
			if v, ok := c.value(f); ok {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					c.errorf(CodeInvalidFlagValue, f.ValueRange, "", "--retries takes a non-negative integer, not %q", v)
				} else {
					in.Retries = n
				}
			}
		}
	}
	in.InstrNode = c.node
	// An optional CMD word, as in Docker.
	if w := firstWord(c.rest); strings.EqualFold(w, "CMD") {
		i := c.at + len(w)
		for i < len(c.l.text) && isSpace(c.l.text[i]) {
			i++
		}
		c.at, c.rest = i, c.l.text[i:]
	}
	c.needArgs("a command")
	in.Cmd = c.shell()
	return in
}
