package lint

import (
	"strings"
	"testing"

	"wrenn.dev/wrenn/lang"
)

// codes renders diagnostics as "line:severity:code" for compact asserts.
func codes(ds lang.Diagnostics) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = strings.Join([]string{itoa(d.Range.Start.Line), d.Severity.String(), d.Code}, ":")
	}
	return out
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestConfigAndSuppression(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		src  string
		want []string
	}{
		{
			name: "warning reported without suppression",
			src:  "RUN cd /tmp && ls\n",
			want: []string{"1:warning:run-cd"},
		},
		{
			name: "suppression silences the named warning",
			src:  "# wrenn-ignore=run-cd\nRUN cd /tmp && ls\n",
			want: nil,
		},
		{
			name: "suppression covers only the next instruction",
			src:  "# wrenn-ignore=run-cd\nRUN cd /tmp && ls\nRUN cd /opt && ls\n",
			want: []string{"3:warning:run-cd"},
		},
		{
			name: "all silences every warning and info of the instruction",
			src:  "# wrenn-ignore=all\nRUN cd /tmp && sudo apt-get install -y curl\n",
			want: nil,
		},
		{
			name: "other codes are not silenced",
			src:  "# wrenn-ignore=run-cd\nRUN cd /tmp && apt-get install curl\n",
			want: []string{"2:warning:apt-missing-yes", "2:info:apt-no-install-recommends"},
		},
		{
			name: "unknown code in a suppression",
			src:  "# wrenn-ignore=run-cdd\nRUN cd /tmp && ls\n",
			want: []string{"1:warning:unknown-lint-code", "2:warning:run-cd"},
		},
		{
			name: "stacked suppression lines add up",
			src:  "# wrenn-ignore=run-cd\n# wrenn-ignore=sudo-as-rot\nRUN cd /tmp && ls\n",
			want: []string{"2:warning:unknown-lint-code"},
		},
		{
			name: "unused suppression",
			src:  "# wrenn-ignore=sudo-as-root\nRUN echo hi\n",
			want: []string{"1:info:unused-suppression"},
		},
		{
			name: "error rule cannot be suppressed",
			src:  "FROM minimal AS a\n# wrenn-ignore=undefined-stage\nCOPY --from=b /x /x\n",
			want: []string{"2:warning:unsilenceable-error", "3:error:undefined-stage"},
		},
		{
			name: "all does not silence an error",
			src:  "FROM minimal AS a\n# wrenn-ignore=all\nCOPY --from=b /x /x\n",
			want: []string{"2:info:unused-suppression", "3:error:undefined-stage"},
		},
		{
			name: "suppression silences a parser warning",
			src:  "# wrenn-ignore=shell-bashism\nRUN a=(1 2) && echo y\n",
			want: nil,
		},
		{
			name: "parser warning without suppression",
			src:  "RUN a=(1 2) && echo y\n",
			want: []string{"1:warning:shell-bashism"},
		},
		{
			name: "suppression cannot silence a parser error",
			src:  "# wrenn-ignore=shell-syntax\nRUN echo 'open\n",
			want: []string{"1:warning:unsilenceable-error", "2:error:shell-syntax"},
		},
		{
			name: "directive turns a rule off",
			src:  "# wrenn:lint-off=run-cd\nRUN cd /tmp && ls\n",
			want: nil,
		},
		{
			name: "directive changes severity",
			src:  "# wrenn:lint-info=run-cd,keyword-casing\nRUN cd /tmp && ls\n",
			want: []string{"2:info:run-cd"},
		},
		{
			name: "warning raised to error can no longer be suppressed",
			src:  "# wrenn:lint-error=run-cd\n# wrenn-ignore=run-cd\nRUN cd /tmp && ls\n",
			want: []string{"2:warning:unsilenceable-error", "3:error:run-cd"},
		},
		{
			name: "directive cannot turn an error rule off",
			src:  "# wrenn:lint-off=undefined-stage\nFROM minimal AS a\nCOPY --from=b /x /x\n",
			want: []string{"1:warning:unsilenceable-error", "3:error:undefined-stage"},
		},
		{
			name: "directive cannot downgrade an error rule",
			src:  "# wrenn:lint-warning=undefined-stage\nFROM minimal AS a\nCOPY --from=b /x /x\n",
			want: []string{"1:warning:unsilenceable-error", "3:error:undefined-stage"},
		},
		{
			name: "one-rule directive form turns a rule off",
			src:  "# wrenn:lint.run-cd=off\nRUN cd /tmp && ls\n",
			want: nil,
		},
		{
			name: "one-rule directive form changes severity",
			src:  "# wrenn:lint.run-cd=info\nRUN cd /tmp && ls\n",
			want: []string{"2:info:run-cd"},
		},
		{
			name: "one-rule directive form with an unknown level",
			src:  "# wrenn:lint.run-cd=of\nRUN cd /tmp && ls\n",
			want: []string{"1:error:invalid-directive-value", "2:warning:run-cd"},
		},
		{
			name: "one-rule directive form with an unknown code",
			src:  "# wrenn:lint.run-cdd=off\nRUN cd /tmp && ls\n",
			want: []string{"1:warning:unknown-lint-code", "2:warning:run-cd"},
		},
		{
			name: "unknown code in a directive",
			src:  "# wrenn:lint-off=run-cdd\nRUN cd /tmp && ls\n",
			want: []string{"1:warning:unknown-lint-code", "2:warning:run-cd"},
		},
		{
			name: "lint-off=all keeps errors",
			src:  "# wrenn:lint-off=all\nFROM minimal AS a\nRUN cd /tmp && ls\nCOPY --from=b /x /x\n",
			want: []string{"4:error:undefined-stage"},
		},
		{
			name: "config turns a rule off",
			cfg:  Config{Off: []string{"run-cd"}},
			src:  "RUN cd /tmp && ls\n",
			want: nil,
		},
		{
			name: "config changes severity",
			cfg:  Config{Severity: map[string]lang.Severity{"run-cd": lang.SeverityError}},
			src:  "RUN cd /tmp && ls\n",
			want: []string{"1:error:run-cd"},
		},
		{
			name: "config cannot downgrade an error rule",
			cfg:  Config{Off: []string{"undefined-stage"}, Severity: map[string]lang.Severity{"undefined-stage": lang.SeverityInfo}},
			src:  "FROM minimal AS a\nCOPY --from=b /x /x\n",
			want: []string{"2:error:undefined-stage"},
		},
		{
			name: "file directive overrides config",
			cfg:  Config{Off: []string{"run-cd"}},
			src:  "# wrenn:lint-warning=run-cd\nRUN cd /tmp && ls\n",
			want: []string{"2:warning:run-cd"},
		},
		{
			name: "config skip-pre-post makes the recipe start as root",
			cfg:  Config{SkipPrePost: true},
			src:  "RUN sudo id\n",
			want: []string{"1:warning:sudo-as-root"},
		},
		{
			name: "pre-build phase makes the recipe start as wrenn-user",
			src:  "RUN sudo id\n",
			want: nil,
		},
		{
			name: "config healthcheck satisfies START",
			cfg:  Config{Healthcheck: true},
			src:  "START sleep 1000\n",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := Run("W", []byte(tt.src), tt.cfg)
			got := codes(ds)
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got  %q\nwant %q\n%s", got, tt.want, formatDiags(ds))
			}
		})
	}
}

// TestErrorsNeverSilenced: for every error the parser or a rule reports,
// adding `# wrenn-ignore=<code>` and `all` before its instruction, and a
// lint-off directive, leaves the error in place.
func TestErrorsNeverSilenced(t *testing.T) {
	srcs := []string{
		"FROM minimal AS a\nCOPY --from=nope /x /x\n",
		"FROM minimal AS a\nRUN true\nFROM minimal AS a\nRUN true\n",
		"RUNN echo hi\n",
		"RUN echo 'unterminated\n",
		"USER 1bad\n",
	}
	for _, src := range srcs {
		_, base := Run("W", []byte(src), Config{})
		errs := base.Errors()
		if len(errs) == 0 {
			t.Fatalf("%q: expected an error to start from, got %s", src, formatDiags(base))
		}
		lines := strings.SplitAfter(src, "\n")
		for _, e := range errs {
			for _, form := range []string{"# wrenn-ignore=" + e.Code + "\n", "# wrenn-ignore=all\n"} {
				l := e.Range.Start.Line - 1
				mod := "# wrenn:lint-off=" + e.Code + "\n" + strings.Join(lines[:l], "") + form + strings.Join(lines[l:], "")
				_, ds := Run("W", []byte(mod), Config{Off: []string{e.Code}})
				found := false
				for _, d := range ds.Errors() {
					if d.Code == e.Code && d.Message == e.Message {
						found = true
					}
				}
				if !found {
					t.Errorf("error %s was silenced by %q:\n%s\n%s", e.Error(), form, mod, formatDiags(ds))
				}
			}
		}
	}
}

// TestRunRecipe lints the seed's recipe form: element N is line N.
func TestRunRecipe(t *testing.T) {
	_, ds := RunRecipe("recipe.json", []string{"RUN sudo apt-get install curl", "ENV A=1 B=2", "USER root"}, Config{})
	got := strings.Join(codes(ds), " ")
	want := "1:warning:apt-missing-yes 1:info:apt-no-install-recommends 2:warning:env-multiple-assignments 3:warning:user-root-at-end"
	if got != want {
		t.Errorf("got  %s\nwant %s\n%s", got, want, formatDiags(ds))
	}
}
