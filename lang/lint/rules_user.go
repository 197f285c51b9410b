package lint

import (
	"fmt"

	"wrenn.dev/wrenn/lang"
)

// checkSudoAsRoot: sudo is pointless as root (and may not be installed);
// the recipe starts as wrenn-user unless skip-pre-post, so the user state
// is tracked from the pre-build phase on.
func checkSudoAsRoot(p *pass) {
	for _, st := range p.steps {
		if st.script == nil || st.user != "root" || st.node.Kind == lang.KindHealthcheck {
			continue
		}
		s := st.script
		for _, c := range s.calls {
			if c.name() != "sudo" {
				continue
			}
			var why string
			var rel []lang.Related
			switch {
			case st.userSetBy != nil:
				why = fmt.Sprintf("USER root on line %d", st.userSetBy.Range.Start.Line)
				rel = append(rel, lang.Related{Message: "the user became root here", Range: st.userSetBy.Range})
			case st.node.Flag("user") != nil:
				why = "RUN --user=root"
			case !p.prePost:
				why = "skip-pre-post: the recipe starts as root"
			default:
				why = "the user is root"
			}
			p.report(p.argRange(s, c, 0), "sudo while the user is root ("+why+")",
				"the step already runs as root; drop sudo (the base template may not even have it)", rel...)
		}
	}
}

// systemUsers exist in a Debian base without a USER instruction.
var systemUsers = map[string]bool{
	"root": true, "daemon": true, "bin": true, "sys": true, "sync": true, "games": true, "man": true, "lp": true,
	"mail": true, "news": true, "uucp": true, "proxy": true, "www-data": true, "backup": true, "list": true,
	"irc": true, "_apt": true, "nobody": true,
}

// checkRunUserUnknown: USER creates a missing user; RUN --user only
// switches to one, and su fails for a user that does not exist.
func checkRunUserUnknown(p *pass) {
	for _, st := range p.steps {
		r, ok := st.instr.(*lang.RunInstr)
		if !ok || r.User == "" || st.userKnown || systemUsers[r.User] {
			continue
		}
		rng := flagValueRange(&r.InstrNode, "user")
		p.report(rng, "RUN --user="+r.User+" names a user that no USER created",
			"USER creates a missing user (adduser, with a sudoers line) but RUN --user only switches to it with su, which fails if it does not exist; add USER "+r.User+" earlier, then switch back")
	}
}

// checkUserRootAtEnd: the user after the recipe is the template's default
// user, so every sandbox would run as root.
func checkUserRootAtEnd(p *pass) {
	final := p.finalStage()
	if final == nil {
		return
	}
	var last *lang.UserInstr
	for _, st := range final.steps {
		if u, ok := st.instr.(*lang.UserInstr); ok {
			last = u
		}
	}
	if last == nil || last.Name.Value != "root" {
		return
	}
	p.report(last.Name.Range, "the template's default user is root",
		"the user at the end of the recipe becomes the default user of every sandbox made from the template; end with USER set to an unprivileged user (the pre-build phase uses wrenn-user), or use RUN --user=root for the steps that need root")
}
