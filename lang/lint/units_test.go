package lint

import (
	"fmt"
	"strings"
	"testing"

	"wrenn.dev/wrenn/lang"
)

func shellOf(text string) *lang.Shell {
	m := make([]int, len(text)+1)
	for i := range m {
		m[i] = i
	}
	return &lang.Shell{Text: text, Map: m}
}

// TestScriptCalls checks that the shell walk finds commands by structure,
// not text, and flags nesting and the last command as the rules expect.
func TestScriptCalls(t *testing.T) {
	tests := []struct {
		text string
		want string // calls as name[nested,last] joined by spaces
	}{
		{`echo "apt install x"`, "echo[-,last]"},
		{`cd /x && make`, "cd[-,-] make[-,last]"},
		{`make; cd /`, "make[-,-] cd[-,last]"},
		{`(cd sub && make)`, "cd[n,-] make[n,-]"},
		{`curl -s x | sh`, "curl[n,-] sh[n,-]"},
		{`echo $(cd /x; pwd)`, "cd[n,-] pwd[n,-] echo[-,last]"},
		{`if true; then cd /; fi`, "true[n,-] cd[n,-]"},
		{`for d in a b; do rm -rf $d; done`, "rm[n,-]"},
		{`f() { cd /; }; f`, "cd[n,-] f[-,last]"},
		{`A=1 /usr/bin/apt-get install x`, "apt-get[-,last]"},
	}
	var sp scriptParser
	for _, tt := range tests {
		s := sp.parse(shellOf(tt.text))
		if s.file == nil {
			t.Fatalf("%q did not parse", tt.text)
		}
		var got []string
		for _, c := range s.calls {
			n, l := "-", "-"
			if c.nested {
				n = "n"
			}
			if c.last {
				l = "last"
			}
			got = append(got, fmt.Sprintf("%s[%s,%s]", c.name(), n, l))
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("%q: calls %s, want %s", tt.text, g, tt.want)
		}
	}
}

func TestScriptPipelinesAndBackground(t *testing.T) {
	var sp scriptParser
	s := sp.parse(shellOf(`curl x | tee y | bash && (sleep 1 &) ; echo "a & b"`))
	if len(s.pipelines) != 1 || len(s.pipelines[0]) != 3 || s.pipelines[0][2].name() != "bash" {
		t.Errorf("pipelines = %d %v", len(s.pipelines), s.pipelines)
	}
	if len(s.background) != 1 {
		t.Errorf("background statements = %d, want 1", len(s.background))
	}
	if s.file == nil || sp.parse(shellOf(`echo 'open`)).file != nil {
		t.Error("a body with a syntax error must yield no file")
	}
}

func TestCallCommandUnwrapsWrappers(t *testing.T) {
	var sp scriptParser
	for text, want := range map[string]string{
		"sudo -u root -E apt-get install x": "apt-get",
		"env A=1 -i apt install":            "apt",
		"nohup nice -n 5 python3 x":         "python3",
		"time -p rm x":                      "rm",
		"xargs -0 rm":                       "rm",
		"sudo":                              "",
	} {
		c := sp.parse(shellOf(text)).calls[0]
		if got := c.nameAt(c.command()); got != want {
			t.Errorf("%q: command %q, want %q", text, got, want)
		}
	}
}

func TestScanVars(t *testing.T) {
	got := scanVars("a $A ${B}c $$D ${1x} $_e9- $", nil)
	var names []string
	for _, r := range got {
		names = append(names, fmt.Sprintf("%s@%d-%d", r.name, r.off, r.end))
	}
	if s := strings.Join(names, " "); s != "A@2-4 B@5-9 _e9@21-25" {
		t.Errorf("scanVars = %s", s)
	}
}

func TestWorldWritable(t *testing.T) {
	for mode, want := range map[string]bool{
		"777": true, "0666": true, "1777": true, "002": true, "a+rwx": true, "o+w": true, "u+x,o+w": true, "+w": false,
		"755": false, "644": false, "1775": false, "u+rwX,go+rX": false, "": false, "g+w": false, "bad": false,
	} {
		if got := worldWritable(mode); got != want {
			t.Errorf("worldWritable(%q) = %v, want %v", mode, got, want)
		}
	}
}

func TestLooksSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"GITHUB_TOKEN": true, "DB_PASSWORD": true, "api_key": true, "AWS_SECRET_ACCESS_KEY": true, "SSH_PRIVATE_KEY": true, "APIKEY": true,
		"TOKENIZERS_PARALLELISM": false, "KEYBOARD": false, "PATH": false, "PWD": false, "KEY": false, "PASSTHROUGH": false,
	} {
		if got := looksSecret(name); got != want {
			t.Errorf("looksSecret(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCodeList(t *testing.T) {
	got := codeList("a, bb,,c ", 10)
	want := []listItem{{"a", 10}, {"bb", 13}, {"c", 17}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("codeList = %v, want %v", got, want)
	}
}

// TestRuleTable checks the table's own invariants: unique kebab-case codes,
// a summary, and a check for every rule that is not reported by Run itself.
func TestRuleTable(t *testing.T) {
	if len(Rules) < 24 {
		t.Errorf("%d rules, want at least 24", len(Rules))
	}
	meta := map[string]bool{codeUnknownLintCode: true, codeUnsilenceableError: true, codeUnusedSuppression: true}
	seen := map[string]bool{}
	for _, r := range Rules {
		if seen[r.Code] {
			t.Errorf("duplicate code %s", r.Code)
		}
		seen[r.Code] = true
		for _, c := range r.Code {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				t.Errorf("code %q is not kebab-case", r.Code)
				break
			}
		}
		if r.Summary == "" || r.Summary != strings.TrimSpace(r.Summary) {
			t.Errorf("%s: bad summary %q", r.Code, r.Summary)
		}
		if (r.check == nil) != meta[r.Code] {
			t.Errorf("%s: check presence wrong", r.Code)
		}
		if r.URL() != DocBaseURL+r.Code || r.DocPath() != "docs/rules/"+r.Code+".md" {
			t.Errorf("%s: URL %s, path %s", r.Code, r.URL(), r.DocPath())
		}
		if Lookup(r.Code) != r {
			t.Errorf("Lookup(%s) failed", r.Code)
		}
	}
}
