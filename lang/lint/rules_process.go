package lint

import (
	"fmt"

	"wrenn.dev/wrenn/lang"
)

// daemonizers start a process that outlives the command.
var daemonizers = map[string]bool{"nohup": true, "setsid": true, "daemon": true, "start-stop-daemon": true, "disown": true, "daemonize": true}

// checkRunBackground: each RUN is one /bin/sh -c whose processes die at
// step end; only START keeps one running (into the memory snapshot).
func checkRunBackground(p *pass) {
	const detail = "a RUN step is one /bin/sh -c in the build sandbox and what it leaves running is killed when the step ends; use START for a process the template keeps running"
	for _, st := range p.steps {
		if _, ok := st.instr.(*lang.RunInstr); !ok || st.script == nil || st.script.file == nil {
			continue
		}
		s := st.script
		waits := false
		for _, c := range s.calls {
			if c.name() == "wait" {
				waits = true
			}
		}
		if !waits {
			for _, bg := range s.background {
				off := bg.Semicolon.Offset()
				p.report(p.shellRange(s, off, off+1), "RUN puts a process in the background; it is killed when the step ends", detail)
			}
		}
		for _, c := range s.calls {
			if len(c.args) == 0 {
				continue
			}
			name := c.name()
			switch {
			case daemonizers[name]:
				p.report(p.argRange(s, c, 0), name+" does not keep a process alive past the end of a RUN step", detail)
			case name == "service" && len(c.args) >= 3 && (c.args[2] == "start" || c.args[2] == "restart"),
				name == "systemctl" && c.hasSub("start", "restart"):
				p.report(p.callRange(s, c), "a service started in RUN is stopped when the step ends", detail)
			}
		}
	}
}

// hasSub reports whether the first non-flag argument is one of subs.
func (c *call) hasSub(subs ...string) bool {
	_, sub := c.subcommand(1)
	for _, s := range subs {
		if sub == s {
			return true
		}
	}
	return false
}

// subcommand returns the index and value of the first literal non-flag
// argument at or after from, or -1.
func (c *call) subcommand(from int) (int, string) {
	for i := from; i < len(c.args); i++ {
		a := c.args[i]
		if a == "" || a[0] == '-' {
			if a == "-o" || a == "-c" || a == "-t" {
				i++ // apt's option takes a value
			}
			continue
		}
		return i, a
	}
	return -1, ""
}

// stageKinds finds the START and HEALTHCHECK steps of a stage.
func stageKinds(si *stageInfo) (starts, checks []*step) {
	for _, st := range si.steps {
		switch st.node.Kind {
		case lang.KindStart:
			starts = append(starts, st)
		case lang.KindHealthcheck:
			checks = append(checks, st)
		}
	}
	return starts, checks
}

// checkStartWithoutHealthcheck: with no healthcheck the seed flattens the
// rootfs (FlattenRootfs), and a started process exists only in memory.
func checkStartWithoutHealthcheck(p *pass) {
	final := p.finalStage()
	for _, si := range p.stages {
		starts, checks := stageKinds(si)
		for _, st := range starts {
			switch {
			case si != final:
				p.report(st.node.KeywordRange, "START in a stage that is not the final one: its process never reaches the template",
					"only the final stage becomes the template; other stages provide files to COPY --from")
			case len(checks) == 0 && !p.cfg.healthcheck:
				p.report(st.node.KeywordRange, "START without HEALTHCHECK: the started process is lost",
					"with no healthcheck the build ends by flattening the rootfs (a base template: files only), so nothing START ran survives; add a HEALTHCHECK so the build ends with a snapshot that keeps the process running")
			}
		}
	}
}

// checkHealthcheckWithoutStart: a healthcheck makes the build wait and then
// snapshot memory; without START it probes nothing the recipe started.
func checkHealthcheckWithoutStart(p *pass) {
	final := p.finalStage()
	if final == nil {
		return
	}
	starts, checks := stageKinds(final)
	if len(starts) > 0 {
		return
	}
	for _, st := range checks {
		p.report(st.node.KeywordRange, "HEALTHCHECK without START: nothing the recipe starts is probed",
			"a healthcheck makes the build wait for it and end with a memory snapshot; without START, drop HEALTHCHECK for a flattened base template, or add the START it should probe")
	}
}

// checkMultipleHealthcheck: a template has one healthcheck; the last wins.
func checkMultipleHealthcheck(p *pass) {
	for _, si := range p.stages {
		_, checks := stageKinds(si)
		if len(checks) < 2 {
			continue
		}
		last := checks[len(checks)-1]
		for _, st := range checks[:len(checks)-1] {
			p.report(st.node.KeywordRange,
				fmt.Sprintf("HEALTHCHECK is overridden by the one on line %d", last.node.Range.Start.Line),
				"a template has one healthcheck and the last HEALTHCHECK wins; remove this one",
				lang.Related{Message: "the HEALTHCHECK that is used", Range: last.node.KeywordRange})
		}
	}
}
