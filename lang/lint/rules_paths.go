package lint

import (
	"path"
	"strconv"
	"strings"

	"wrenn.dev/wrenn/lang"
)

// checkRunCd: every RUN starts in WORKDIR again (the seed prefixes
// `cd 'WD' &&`), so a cd only lasts for the rest of its own line.
func checkRunCd(p *pass) {
	for _, st := range p.steps {
		if st.script == nil || st.node.Kind == lang.KindHealthcheck {
			continue
		}
		s := st.script
		for _, c := range s.calls {
			if c.nested || c.name() != "cd" {
				continue
			}
			if c.last {
				p.report(p.argRange(s, c, 0), "cd at the end of "+string(st.node.Kind)+" has no effect",
					"each step is a new /bin/sh -c that starts in the current WORKDIR; use WORKDIR to change it for later steps")
				continue
			}
			p.report(p.argRange(s, c, 0), "use WORKDIR instead of cd",
				"each step is a new /bin/sh -c that starts in WORKDIR, and WORKDIR also creates the directory; a cd lasts only until the step ends")
		}
	}
}

// checkWorkdirRelative: the seed runs mkdir -p and cd with the path as
// written, from the sandbox's starting directory, not the previous WORKDIR.
func checkWorkdirRelative(p *pass) {
	for _, st := range p.steps {
		w, ok := st.instr.(*lang.WorkdirInstr)
		if !ok {
			continue
		}
		v := strings.TrimSpace(w.Path.Value)
		switch {
		case v == "" || v[0] == '/' || v[0] == '$':
		case v[0] == '~':
			p.report(w.Path.Range, "WORKDIR "+v+" is not expanded: ~ is a literal directory name here",
				"WORKDIR is quoted, not expanded by a shell; write $HOME"+v[1:]+" or an absolute path")
		default:
			p.report(w.Path.Range, "WORKDIR "+v+" is relative",
				"the path is used as written: mkdir -p and cd run from the sandbox's starting directory, not from the previous WORKDIR; use an absolute path")
		}
	}
}

// checkWorkdirWhitespace: the path is the rest of the line (trailing
// blanks trimmed), so a space inside is part of the directory name.
func checkWorkdirWhitespace(p *pass) {
	for _, st := range p.steps {
		w, ok := st.instr.(*lang.WorkdirInstr)
		if !ok {
			continue
		}
		if i := strings.IndexAny(w.Path.Value, " \t"); i >= 0 {
			p.report(p.wordRange(&w.Path, i, i+1), "WORKDIR path contains a space",
				"the seed accepts it, but every script that uses $PWD or the path unquoted splits it; prefer a path without spaces")
		}
	}
}

// contextDir is where the seed extracts the uploaded context in the
// sandbox; wrenn puts only the files a COPY selects there.
const contextDir = "/tmp/build-files"

// checkRunReadsContext: RUN keys do not depend on the context, and context
// files reach the sandbox only through COPY.
func checkRunReadsContext(p *pass) {
	needles := []string{contextDir}
	if d := strings.TrimRight(p.cfg.contextDir, "/"); d != "" && d != "." && path.IsAbs(d) {
		needles = append(needles, d)
	}
	for _, st := range p.steps {
		if st.script == nil {
			continue
		}
		s := st.script
		for _, n := range needles {
			i := strings.Index(s.sh.Text, n)
			if i < 0 {
				continue
			}
			p.report(p.shellRange(s, uint(i), uint(i+len(n))), string(st.node.Kind)+" reads the build context directory "+n,
				"context files reach the sandbox only through COPY, and a RUN's layer key does not depend on them, so a cached step would not see a change; COPY what you need and use it at its destination")
			break
		}
	}
}

// checkCopyRelativeDest: a relative COPY destination is joined to
// WORKDIR; with skip-pre-post and no WORKDIR that is the agent's default.
func checkCopyRelativeDest(p *pass) {
	for _, st := range p.steps {
		c, ok := st.instr.(*lang.CopyInstr)
		if !ok || st.workdirSet {
			continue
		}
		d := c.Dest.Value
		if d == "" || d[0] == '/' || d[0] == '$' {
			continue
		}
		p.report(c.Dest.Range, "COPY to relative destination "+d+" with no WORKDIR set",
			"a relative destination is joined to WORKDIR; with skip-pre-post and no WORKDIR it lands wherever the sandbox starts; set WORKDIR first or use an absolute path")
	}
}

// worldWritable reports whether a chmod mode gives write to others.
func worldWritable(mode string) bool {
	if mode == "" {
		return false
	}
	if mode[0] >= '0' && mode[0] <= '7' {
		n, err := strconv.ParseUint(mode, 8, 32)
		return err == nil && n&0o002 != 0
	}
	for _, clause := range strings.Split(mode, ",") {
		who := strings.IndexAny(clause, "+=")
		if who < 0 {
			continue
		}
		if (strings.ContainsAny(clause[:who], "oa") || clause[:who] == "") && who > 0 && strings.Contains(clause[who:], "w") {
			return true
		}
	}
	return false
}

// checkChmod777: world-writable files in a template are writable by every
// process of every sandbox made from it.
func checkChmod777(p *pass) {
	const detail = "every process in every sandbox made from the template can change it; give write access to the owner (e.g. 755, 644) and use --chown or USER for ownership"
	for _, st := range p.steps {
		if cp, ok := st.instr.(*lang.CopyInstr); ok && worldWritable(cp.Chmod) {
			rng := cp.Range
			if f := lastFlag(&cp.InstrNode, "chmod"); f != nil {
				rng = f.Range
			}
			p.report(rng, "COPY --chmod="+cp.Chmod+" makes the files world-writable", detail)
		}
		if st.script == nil {
			continue
		}
		s := st.script
		for _, c := range s.calls {
			i := c.command()
			if c.nameAt(i) != "chmod" {
				continue
			}
			for j := i + 1; j < len(c.args); j++ {
				if a := c.args[j]; a != "" && a[0] != '-' {
					if c.lit[j] && worldWritable(a) {
						p.report(p.argRange(s, c, j), "chmod "+a+" makes files world-writable", detail)
					}
					break
				}
			}
		}
	}
}

// checkRmRoot: rm -r of / or of a path that is / when a variable is empty.
func checkRmRoot(p *pass) {
	for _, st := range p.steps {
		if st.script == nil {
			continue
		}
		s := st.script
		for _, c := range s.calls {
			i := c.command()
			if c.nameAt(i) != "rm" || !c.hasFlag(i+1, "rR", "--recursive") {
				continue
			}
			for j := i + 1; j < len(c.args); j++ {
				w := c.expr.Args[j]
				if c.lit[j] {
					switch strings.TrimRight(c.args[j], "/") {
					case "", "/*", "/.", "/..":
						if c.args[j] != "" {
							p.report(p.argRange(s, c, j), "rm -r "+c.args[j]+" deletes the whole root filesystem",
								"the step would wipe the sandbox it runs in and the layer it produces; name the directory you mean")
						}
					}
					continue
				}
				// "$DIR"/… with DIR unset or empty becomes /….
				if len(w.Parts) >= 2 && startsWithParam(w) {
					if rest, ok := literalTail(w); ok && strings.HasPrefix(rest, "/") {
						p.report(p.argRange(s, c, j), "rm -r of a path that starts with a variable deletes from / when it is empty",
							"use ${VAR:?} so the step fails when VAR is unset or empty, or a literal path")
					}
				}
			}
		}
	}
}
