package compiler

import (
	"fmt"
	"sort"
	"strings"
)

// Dump renders a plan as stable, line-oriented text: every stage, every
// step with its key, parents, state and script, and the result. Golden
// tests compare it, so any change to keys or scripts shows up in review.
func Dump(p *Plan) string {
	var b strings.Builder
	for i, s := range p.Stages {
		fmt.Fprintf(&b, "stage %d index=%d name=%q base=%q", i, s.Index, s.Name, s.Base)
		if s.BaseStage >= 0 {
			fmt.Fprintf(&b, " base-stage=%d", s.BaseStage)
		}
		fmt.Fprintf(&b, "\n  base-key %s\n  final-key %s\n", s.BaseKey, s.FinalKey)
	}
	for _, s := range p.Steps {
		layer := "layer"
		if !s.MakesLayer {
			layer = "no-layer"
		}
		line := 0
		if s.Range.Start.Line > 0 {
			line = s.Range.Start.Line
		}
		fmt.Fprintf(&b, "step %d stage=%d %s %s line=%d parents=%v %s\n", s.ID, s.Stage, s.Phase, s.Kind, line, s.Parents, layer)
		fmt.Fprintf(&b, "  text    %s\n  key     %s\n", s.Text, s.Key)
		fmt.Fprintf(&b, "  state   user=%s workdir=%q timeout=%s\n", s.User, s.Workdir, s.Timeout)
		if args := s.Args(); len(args) > 0 {
			fmt.Fprintf(&b, "  args    %s\n", kv(args))
		}
		if script := s.Script(); script != "" {
			fmt.Fprintf(&b, "  script  %s\n", script)
		}
		if c := s.Copy; c != nil {
			fmt.Fprintf(&b, "  copy    dest=%s chown=%s chmod=%q from=%d staging=%s\n", c.Dest, c.Chown, c.Chmod, c.FromStage, c.Staging)
			if c.Selection != nil {
				for _, e := range c.Selection.Files {
					fmt.Fprintf(&b, "    %s %s %04o %s%s\n", e.Type, e.Path, e.Mode, e.Digest(), linkSuffix(e.Link))
				}
			}
		}
	}
	r := p.Result
	fmt.Fprintf(&b, "result final=%s user=%s workdir=%q start=%v\n", r.Final, r.DefaultUser, r.DefaultWorkdir, r.Start)
	fmt.Fprintf(&b, "  env     %s\n", kv(r.DefaultEnv))
	if h := r.Healthcheck; h != nil {
		fmt.Fprintf(&b, "  health  interval=%s timeout=%s start-period=%s retries=%d\n  health-script %s\n", h.Interval, h.Timeout, h.StartPeriod, h.Retries, h.Script)
	}
	fmt.Fprintf(&b, "  key     %s\n", r.Key)
	if len(p.Unresolved) > 0 {
		fmt.Fprintf(&b, "unresolved %s\n", strings.Join(p.Unresolved, " "))
	}
	return b.String()
}

func linkSuffix(l string) string {
	if l == "" {
		return ""
	}
	return " -> " + l
}

func kv(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, " ")
}
