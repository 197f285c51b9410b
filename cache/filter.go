package cache

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Filter selects records for ls and prune. Every condition given must hold.
type Filter struct {
	Refs     []string      // ref=NAME: used by one of these refs
	Until    time.Duration // until=DURATION: not used for at least this long
	Text     []string      // text~=SUBSTR: step text contains each
	Template string        // template=NAME: made by a build of this template
	Kind     SnapshotKind  // kind=layer|snapshot
	Key      string        // key=PREFIX
	Unused   bool          // unused: no ref uses it
}

// FilterHelp documents the --filter syntax for the CLI's help text.
const FilterHelp = `  ref=NAME          used by ref (template) NAME
  unused            used by no ref
  until=DURATION    not used for at least DURATION (e.g. 24h, 7d)
  text~=SUBSTR      step text contains SUBSTR
  template=NAME     made by a build of template NAME
  kind=layer|snapshot
  key=PREFIX        key starts with PREFIX (with or without sha256:)`

// ParseFilter parses --filter values such as "ref=web", "text~=apt",
// "until=24h" or "unused".
func ParseFilter(list []string) (Filter, error) {
	var f Filter
	for _, s := range list {
		name, value, op := splitFilter(s)
		bad := func(want string) error {
			return fmt.Errorf("--filter %q: want %s", s, want)
		}
		switch name {
		case "ref":
			if op != "=" || value == "" {
				return f, bad("ref=NAME")
			}
			f.Refs = append(f.Refs, value)
		case "until":
			d, err := ParseDuration(value)
			if op != "=" || err != nil {
				return f, bad("until=DURATION such as 36h or 7d")
			}
			f.Until = d
		case "text":
			if op != "~=" || value == "" {
				return f, bad("text~=SUBSTRING")
			}
			f.Text = append(f.Text, value)
		case "template":
			if op != "=" || value == "" {
				return f, bad("template=NAME")
			}
			f.Template = value
		case "kind":
			if op != "=" || (value != string(KindLayer) && value != string(KindSnapshot)) {
				return f, bad("kind=layer or kind=snapshot")
			}
			f.Kind = SnapshotKind(value)
		case "key":
			if op != "=" || value == "" {
				return f, bad("key=PREFIX")
			}
			f.Key = NormalizePrefix(value)
		case "unused":
			if op != "" && !(op == "=" && (value == "true" || value == "1")) {
				return f, bad("unused")
			}
			f.Unused = true
		default:
			return f, fmt.Errorf("--filter %q: unknown filter %q; filters are:\n%s", s, name, FilterHelp)
		}
	}
	return f, nil
}

func splitFilter(s string) (name, value, op string) {
	if i := strings.Index(s, "~="); i >= 0 && (strings.IndexByte(s, '=') == i+1) {
		return s[:i], s[i+2:], "~="
	}
	if name, value, ok := strings.Cut(s, "="); ok {
		return name, value, "="
	}
	return s, "", ""
}

// ParseDuration is time.ParseDuration plus a "d" (24h) unit, as people
// write cache ages.
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days float64
		if _, err := fmt.Sscanf(n, "%g", &days); err != nil || days < 0 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(days * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return d, nil
}

// NormalizePrefix turns a user's key or key prefix ("ab12", "sha256:ab12")
// into a prefix of stored keys.
func NormalizePrefix(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	if strings.HasPrefix(p, "sha256:") {
		return p
	}
	return "sha256:" + p
}

// Match reports whether r passes the filter in graph g at now.
func (f *Filter) Match(g *Graph, r *Record, now time.Time) bool {
	if len(f.Refs) > 0 && !slices.ContainsFunc(f.Refs, func(n string) bool { return slices.Contains(g.RefsOf[r.Key], n) }) {
		return false
	}
	if f.Unused && len(g.RefsOf[r.Key]) > 0 {
		return false
	}
	if f.Until > 0 && now.Sub(r.LastUsed) < f.Until {
		return false
	}
	for _, t := range f.Text {
		if !strings.Contains(r.Text, t) {
			return false
		}
	}
	if f.Template != "" && r.Template != f.Template {
		return false
	}
	if f.Kind != "" && r.Snapshot.Kind != f.Kind {
		return false
	}
	if f.Key != "" && !strings.HasPrefix(r.Key, f.Key) {
		return false
	}
	return true
}

// ShortKey is the first 12 hex digits of a key, as ls shows it.
func ShortKey(k string) string {
	k = strings.TrimPrefix(k, "sha256:")
	if len(k) > 12 {
		return k[:12]
	}
	return k
}
