package lang

import (
	"fmt"
	"strings"
)

// dump renders a parsed file as stable text for golden files: every node
// with its range as line:col-line:col.
func dump(f *File) string {
	var b strings.Builder
	r := func(x Range) string {
		return fmt.Sprintf("%d:%d-%d:%d", x.Start.Line, x.Start.Column, x.End.Line, x.End.Column)
	}
	for _, d := range f.Directives {
		fmt.Fprintf(&b, "directive %s %q=%q\n", r(d.Range), d.Key, d.Value)
	}
	for _, c := range f.Comments {
		fmt.Fprintf(&b, "comment %s %q\n", r(c.Range), c.Text)
	}
	for _, st := range f.Stages {
		fmt.Fprintf(&b, "stage %d %s name=%q base=%q\n", st.Index, r(st.Range), st.Name, st.Base)
		for _, in := range st.Instructions {
			n := in.Node()
			fmt.Fprintf(&b, "  %s %s keyword=%q@%s", n.Kind, r(n.Range), n.Keyword, r(n.KeywordRange))
			if n.NoCache {
				b.WriteString(" no-cache")
			}
			if len(n.Suppress) > 0 {
				fmt.Fprintf(&b, " suppress=%s", strings.Join(n.Suppress, ","))
			}
			b.WriteString("\n")
			for _, fl := range n.Flags {
				fmt.Fprintf(&b, "    flag %s %q", r(fl.Range), fl.Name)
				if fl.HasValue {
					fmt.Fprintf(&b, "=%q@%s", fl.Value, r(fl.ValueRange))
				}
				b.WriteString("\n")
			}
			w := func(label string, x Word) { fmt.Fprintf(&b, "    %s %s %q\n", label, r(x.Range), x.Value) }
			sh := func(s Shell) {
				fmt.Fprintf(&b, "    cmd %s %q", r(s.Range), s.Text)
				if s.Bash() {
					b.WriteString(" bash")
				}
				b.WriteString("\n")
			}
			switch x := in.(type) {
			case *FromInstr:
				w("base", x.Base)
				if x.Name != nil {
					w("name", *x.Name)
				}
			case *ArgInstr:
				w("name", x.Name)
				if x.Default != nil {
					w("default", *x.Default)
				}
			case *RunInstr:
				fmt.Fprintf(&b, "    timeout=%s user=%q\n", x.Timeout, x.User)
				sh(x.Cmd)
			case *StartInstr:
				sh(x.Cmd)
			case *EnvInstr:
				w("key", x.Key)
				w("value", x.Value)
			case *WorkdirInstr:
				w("path", x.Path)
			case *UserInstr:
				w("name", x.Name)
			case *CopyInstr:
				fmt.Fprintf(&b, "    chown=%q chmod=%q from=%q\n", x.Chown, x.Chmod, x.From)
				for _, s := range x.Sources {
					w("src", s)
				}
				w("dest", x.Dest)
			case *HealthcheckInstr:
				fmt.Fprintf(&b, "    interval=%s timeout=%s start-period=%s retries=%d\n", x.Interval, x.Timeout, x.StartPeriod, x.Retries)
				sh(x.Cmd)
			}
		}
	}
	return b.String()
}

// dumpDiags renders diagnostics one per line, as `wrenn compile` does.
func dumpDiags(ds Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s:%d:%d-%d:%d: %s: %s [%s]", d.Range.File, d.Range.Start.Line, d.Range.Start.Column,
			d.Range.End.Line, d.Range.End.Column, d.Severity, d.Message, d.Code)
		if d.Detail != "" {
			fmt.Fprintf(&b, " (%s)", d.Detail)
		}
		b.WriteString("\n")
		for _, r := range d.Related {
			fmt.Fprintf(&b, "\trelated %d:%d-%d:%d: %s\n", r.Range.Start.Line, r.Range.Start.Column, r.Range.End.Line, r.Range.End.Column, r.Message)
		}
	}
	return b.String()
}
