package compiler

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wrenn.dev/wrenn/lang"
)

func zzBench(n int) []byte {
	var b strings.Builder
	b.WriteString("FROM minimal\n")
	for i := 1; i <= n; i++ {
		switch i % 5 {
		case 1:
			fmt.Fprintf(&b, "RUN mkdir -p /opt/app/d%d && echo step-%d > /opt/app/d%d/stamp\n", i, i, i)
		case 2:
			fmt.Fprintf(&b, "ENV STEP_%d=value-%d\n", i, i)
		case 3:
			fmt.Fprintf(&b, "WORKDIR /opt/app/d%d\n", i)
		case 4:
			fmt.Fprintf(&b, "COPY app /opt/app/d%d/\n", i)
		case 0:
			fmt.Fprintf(&b, "RUN test -f /opt/app/d%d/stamp || exit 1\n", i-4)
		}
	}
	return []byte(b.String())
}

const zzExtra = `FROM minimal AS a
ARG V=a'rg
ENV Z=z
RUN echo $V
ENV V="it's env"
USER app
WORKDIR bob's dir
RUN echo 'hi'
RUN --user=root id
ARG A
ENV A=
START sleep 1
USER root
RUN true
FROM a AS b
ARG B=2
ENV C=$B
RUN echo $C
COPY --from=a /x /y
FROM minimal
ENV M=1
RUN a
COPY --from=b /y /z
HEALTHCHECK CMD curl x
`

func TestZZDump(t *testing.T) {
	out := os.Getenv("ZZDUMP")
	if out == "" {
		t.Skip()
	}
	var b strings.Builder
	files := map[string][]byte{"bench": zzBench(300), "extra": []byte(zzExtra)}
	ms, _ := filepath.Glob("../testdata/wrennfiles/*")
	ex, _ := filepath.Glob("../examples/*/Wrennfile")
	for _, m := range append(ms, ex...) {
		src, _ := os.ReadFile(m)
		files[m] = src
	}
	ctx := goldenContext(t)
	for _, name := range []string{"bench", "extra"} {
		_ = name
	}
	names := []string{"bench", "extra"}
	names = append(names, ms...)
	names = append(names, ex...)
	for _, name := range names {
		for _, opts := range []Options{{Context: ctx}, {Context: ctx, BuildArgs: map[string]string{"A": "x", "V": "bv"}}, {Context: ctx, SkipPrePost: true}} {
			f, _ := lang.Parse(name, files[name])
			p, diags := Compile(f, opts)
			fmt.Fprintf(&b, "== %s %v\n%s", name, diags, Dump(p))
			for _, s := range p.Steps {
				fmt.Fprintf(&b, "S %d script=%s\n  pre=%s\n  env=%s\n  args=%s\n", s.ID, zzScript(s), zzPre(s), kv(zzEnv(s)), kv(zzArgs(s)))
			}
			for _, s := range p.Stages {
				fmt.Fprintf(&b, "stage %s %s %s\n", s.BaseKey, s.BasePreimage, kv(s.BaseEnv))
			}
			fmt.Fprintf(&b, "result %s %s %s\n", p.Result.Preimage, p.Result.StartScript, kv(p.Result.DefaultEnv))
		}
	}
	os.WriteFile(out, []byte(b.String()), 0o644)
}
