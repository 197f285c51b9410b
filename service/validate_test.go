package service

import (
	"context"
	"errors"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/opencontainers/go-digest"

	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// knownTemplates is a TemplateResolver with a fixed set of templates.
type knownTemplates map[string]bool

func (k knownTemplates) ResolveTemplate(_ context.Context, name string) (digest.Digest, error) {
	if !k[name] {
		return "", errors.New("none of the 2 agents has it")
	}
	return digest.FromString(name), nil
}

// TestCreateRejectsWhatCannotBuild: a FROM or base_template no agent has,
// and a COPY whose source is not in the uploaded archive (or with no
// archive at all), are rejected at create with positioned diagnostics,
// and nothing is stored.
func TestCreateRejectsWhatCannotBuild(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil, newFakeRunner(), Config{Templates: knownTemplates{"minimal": true, "python": true}})
	ctx := context.Background()
	ctxTar := tarOf(t, map[string]string{"app/main.py": "print(1)\n"})
	for _, tc := range []struct {
		name string
		req  *buildv1.CreateBuildRequest
		msg  string
		code string
		line int
		col  int
	}{
		{"from", &buildv1.CreateBuildRequest{Wrennfile: "# base\nFROM pyhton\nRUN true\n"},
			`Wrennfile:2:6: error: base template "pyhton": none of the 2 agents has it`, "base-unknown", 2, 6},
		{"base_template", &buildv1.CreateBuildRequest{Recipe: []string{"RUN true"}, BaseTemplate: "ubuntu"},
			`base template "ubuntu": none of the 2 agents has it`, "base-unknown", 1, 1},
		{"copy-missing", &buildv1.CreateBuildRequest{Recipe: []string{"RUN true", "COPY app/main.py app/missing.py /app/"}, Archive: ctxTar},
			`recipe:2:1: error: copy source "app/missing.py" not found in the build context`, "copy-source-missing", 2, 1},
		{"copy-no-archive", &buildv1.CreateBuildRequest{Recipe: []string{"COPY app /app"}},
			`recipe:1:1: error: copy needs a build context, and none was given`, "copy-no-context", 1, 1},
	} {
		tc.req.Name = tc.name
		_, err := ts.client.CreateBuild(ctx, connect.NewRequest(tc.req))
		if connectCode(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v\nwant %q", tc.name, err, tc.msg)
			continue
		}
		d := DiagnosticsFromError(err)
		if len(d) == 0 || d[0].Code != tc.code || d[0].Range.Start.Line != tc.line || d[0].Range.Start.Column != tc.col {
			t.Errorf("%s: diagnostics %+v, want %s at %d:%d", tc.name, d, tc.code, tc.line, tc.col)
		}
	}
	list, _ := ts.client.ListBuilds(ctx, connect.NewRequest(&buildv1.ListBuildsRequest{}))
	if n := len(list.Msg.Builds); n != 0 {
		t.Errorf("%d rejected builds were stored", n)
	}
	// Known bases and present sources pass.
	for _, req := range []*buildv1.CreateBuildRequest{
		{Name: "ok1", Wrennfile: "FROM python\nCOPY app /app\n", Archive: ctxTar},
		{Name: "ok2", Recipe: []string{"RUN true"}},
	} {
		if _, err := ts.client.CreateBuild(ctx, connect.NewRequest(req)); err != nil {
			t.Errorf("%s: %v", req.Name, err)
		}
	}
}
