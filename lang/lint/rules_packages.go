package lint

import (
	"strings"

	"wrenn.dev/wrenn/lang"
)

// aptCall is an apt, apt-get or aptitude command found in a shell body.
type aptCall struct {
	st    *step
	s     *script
	c     *call
	cmd   int    // index of the apt word
	sub   int    // index of the subcommand word
	verb  string // the subcommand
	piped bool   // fed by `yes |`
}

// aptCalls lists every apt invocation of RUN and START bodies, so the apt
// rules share one scan.
func (p *pass) aptCalls() []aptCall {
	if p.apt != nil {
		return *p.apt
	}
	out := []aptCall{}
	defer func() { p.apt = &out }()
	for _, st := range p.steps {
		if st.script == nil || st.node.Kind == lang.KindHealthcheck {
			continue
		}
		s := st.script
		yesFed := map[*call]bool{}
		for _, pl := range s.pipelines {
			for i := 1; i < len(pl); i++ {
				if pl[i-1].name() == "yes" {
					yesFed[pl[i]] = true
				}
			}
		}
		for _, c := range s.calls {
			i := c.command()
			switch c.nameAt(i) {
			case "apt", "apt-get", "aptitude":
			default:
				continue
			}
			sub, verb := c.subcommand(i + 1)
			if sub < 0 {
				continue
			}
			out = append(out, aptCall{st: st, s: s, c: c, cmd: i, sub: sub, verb: verb, piped: yesFed[c]})
		}
	}
	return out
}

var aptPrompting = map[string]bool{"install": true, "upgrade": true, "dist-upgrade": true, "full-upgrade": true, "remove": true, "purge": true, "autoremove": true, "reinstall": true, "build-dep": true}

// checkAptMissingYes: there is no terminal in a build step; apt's prompt
// aborts or hangs the step until its timeout.
func checkAptMissingYes(p *pass) {
	for _, a := range p.aptCalls() {
		c := a.c
		if !aptPrompting[a.verb] || a.piped || c.hasFlag(a.cmd+1, "y", "--yes", "--assume-yes") || aptAssumesYes(c, a.cmd+1) {
			continue
		}
		p.report(p.argRange(a.s, c, a.sub), c.nameAt(a.cmd)+" "+a.verb+" without -y waits for a confirmation",
			"a build step has no terminal: the prompt aborts the step or hangs it until its timeout (30s in the recipe); add -y")
	}
}

// aptAssumesYes finds -qq (which implies -y for apt-get) and
// -o APT::Get::Assume-Yes=true.
func aptAssumesYes(c *call, from int) bool {
	for i := from; i < len(c.args); i++ {
		a := c.args[i]
		switch {
		case a == "-qq" || a == "-q=2" || a == "--quiet=2":
			return true
		case strings.Contains(strings.ToLower(a), "assume-yes=true"):
			return true
		}
	}
	return false
}

// checkAptUpgrade: a step's layer key is its text, so a cached upgrade
// never sees newer packages; the base template is the place to upgrade.
func checkAptUpgrade(p *pass) {
	for _, a := range p.aptCalls() {
		switch a.verb {
		case "upgrade", "dist-upgrade", "full-upgrade", "safe-upgrade":
			p.report(p.argRange(a.s, a.c, a.sub), a.c.nameAt(a.cmd)+" "+a.verb+" makes the template depend on when its layer was first built",
				"the step's layer key covers only its text, so a cached build keeps the packages of the first run; upgrade the base template instead, or install pinned versions")
		}
	}
}

// checkAptNoInstallRecommends: recommended packages grow the template.
func checkAptNoInstallRecommends(p *pass) {
	for _, a := range p.aptCalls() {
		c := a.c
		if a.verb != "install" || c.hasFlag(a.cmd+1, "", "--no-install-recommends") {
			continue
		}
		recommends := false
		for _, x := range c.args[a.cmd+1:] {
			if strings.Contains(strings.ToLower(x), "install-recommends") {
				recommends = true
			}
		}
		if recommends || c.nameAt(a.cmd) == "aptitude" {
			continue
		}
		p.report(p.argRange(a.s, c, a.sub), c.nameAt(a.cmd)+" install without --no-install-recommends",
			"recommended packages are rarely needed in a sandbox and grow every template made from this one (default disk 5 GB)")
	}
}

// checkRedundantAptCleanup: the post-build phase already runs apt clean
// and removes /var/lib/apt/lists, and only the final rootfs is kept.
func checkRedundantAptCleanup(p *pass) {
	final := p.finalStage()
	if !p.prePost || final == nil {
		return
	}
	const detail = "the post-build phase runs apt clean, apt autoremove -y and rm -rf /var/lib/apt/lists/* after the recipe, and intermediate layers are not part of the template; remove it (or keep it with skip-pre-post)"
	for _, st := range final.steps {
		if st.script == nil || st.node.Kind != lang.KindRun {
			continue
		}
		s := st.script
		for _, c := range s.calls {
			i := c.command()
			switch c.nameAt(i) {
			case "apt", "apt-get":
				if _, verb := c.subcommand(i + 1); verb == "clean" {
					p.report(p.callRange(s, c), c.nameAt(i)+" clean is already done by the post-build phase", detail)
				}
			case "rm":
				for j := i + 1; j < len(c.args); j++ {
					if strings.HasPrefix(c.args[j], "/var/lib/apt/lists") {
						p.report(p.argRange(s, c, j), "removing /var/lib/apt/lists is already done by the post-build phase", detail)
						break
					}
				}
			}
		}
	}
}

// checkPipNoCacheDir: post-build cleans apt's caches but not pip's.
func checkPipNoCacheDir(p *pass) {
	for _, st := range p.steps {
		if st.script == nil || st.node.Kind != lang.KindRun {
			continue
		}
		if st.stage.vars["PIP_NO_CACHE_DIR"] {
			continue
		}
		s := st.script
		for _, c := range s.calls {
			i := c.command()
			name := c.nameAt(i)
			switch {
			case name == "pip" || name == "pip3" || strings.HasPrefix(name, "pip3."):
				i++
			case strings.HasPrefix(name, "python") && i+2 < len(c.args) && c.args[i+1] == "-m" && (c.args[i+2] == "pip" || c.args[i+2] == "pip3"):
				i += 3
			default:
				continue
			}
			sub, verb := c.subcommand(i)
			if verb != "install" || c.hasFlag(i, "", "--no-cache-dir") {
				continue
			}
			p.report(p.argRange(s, c, sub), "pip install keeps its download cache in the template",
				"the post-build phase removes apt's caches but not ~/.cache/pip; add --no-cache-dir (or ENV PIP_NO_CACHE_DIR=1)")
		}
	}
}

var (
	downloaders  = map[string]bool{"curl": true, "wget": true}
	interpreters = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "ash": true, "python": true, "python3": true, "perl": true, "ruby": true, "node": true}
)

// checkCurlPipeShell: a piped installer runs unverified code, and its
// layer key covers only the RUN text, never what was downloaded.
func checkCurlPipeShell(p *pass) {
	for _, st := range p.steps {
		if st.script == nil {
			continue
		}
		s := st.script
		for _, pl := range s.pipelines {
			var dl *call
			for _, c := range pl {
				i := c.command()
				name := c.nameAt(i)
				if downloaders[name] {
					dl = c
					continue
				}
				if dl != nil && interpreters[name] {
					p.report(p.argRange(s, c, i), "piping a download into "+name+" runs code nobody checked",
						"and the step's layer key covers only its text: a cached build keeps whatever the first download did; download to a file, check its sha256, then run it",
						lang.Related{Message: "downloaded here", Range: p.argRange(s, dl, dl.command())})
					break
				}
			}
		}
	}
}
