package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"
	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/executor"
	"wrenn.dev/wrenn/lang"
	"wrenn.dev/wrenn/lang/lint"
	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// Seed defaults of a build request.
const (
	DefaultVCPUs    = 1
	DefaultMemoryMB = 512
	// DefaultMaxArchiveBytes bounds an uploaded archive (compressed).
	DefaultMaxArchiveBytes = 100 << 20
)

// Source names used in diagnostics' ranges.
const (
	recipeFileName    = "recipe"
	wrennfileFileName = "Wrennfile"
)

// checked is a request that passed validation.
type checked struct {
	file    *lang.File
	ctx     *compiler.Context
	opts    compiler.Options
	plan    *compiler.Plan
	warning lang.Diagnostics
}

// TemplateResolver tells whether a base template exists on some agent, so
// that a FROM (or base_template) no agent has is rejected at create time
// with the FROM's position. An error is the reason shown in the
// diagnostic ("base template "x": <err>"); when no agent can be asked it
// should return a placeholder digest and no error, leaving the build to
// the workers.
type TemplateResolver interface {
	ResolveTemplate(ctx context.Context, name string) (digest.Digest, error)
}

// limits bound what Create accepts.
type limits struct {
	maxArchiveBytes   int64
	archiveMaxEntries int
	archiveMaxBytes   int64
}

// check parses, lints and compiles b's recipe with its archive, as the
// build will: a recipe that cannot build is rejected at create time with
// the diagnostics (positions included), not after a worker picks it up.
// templates, when non-nil, resolves base templates (create time only: at
// run time the executor resolves them on the agent it picked).
func check(ctx context.Context, b *buildv1.Build, archive []byte, lim limits, templates TemplateResolver) (*checked, error) {
	if b.Name == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("name is required"))
	}
	if strings.ContainsFunc(b.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("name %q contains a control character", b.Name))
	}
	if len(b.Recipe) > 0 && b.Wrennfile != "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("give either recipe or wrennfile, not both"))
	}
	if len(b.Recipe) == 0 && b.Wrennfile == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("recipe or wrennfile is required"))
	}
	if b.Vcpus < 0 || b.MemoryMb < 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("vcpus and memory_mb must be positive"))
	}
	c := &checked{}
	if len(archive) > 0 {
		if int64(len(archive)) > lim.maxArchiveBytes {
			return nil, connect.NewError(connect.CodeInvalidArgument,
				fmt.Errorf("archive is %d bytes, more than the limit of %d", len(archive), lim.maxArchiveBytes))
		}
		ctx, err := compiler.OpenArchive(archive, compiler.ContextOptions{
			MaxEntries: lim.archiveMaxEntries, MaxBytes: lim.archiveMaxBytes,
		})
		if err != nil {
			return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("invalid archive: %v", err))
		}
		c.ctx = ctx
	}
	cfg := lint.Config{SkipPrePost: b.SkipPrePost, Healthcheck: b.Healthcheck != ""}
	var diags lang.Diagnostics
	if len(b.Recipe) > 0 {
		c.file, diags = lint.RunRecipe(recipeFileName, b.Recipe, cfg)
	} else {
		c.file, diags = lint.Run(wrennfileFileName, []byte(b.Wrennfile), cfg)
	}
	if diags.HasErrors() || c.file == nil {
		return nil, diagnosticsError(diags)
	}
	if b.Healthcheck != "" {
		// The seed's healthcheck parameter, in HEALTHCHECK's syntax
		// (flags and all): it sets or overrides the target's healthcheck,
		// as `wrenn build --healthcheck` does.
		hc, err := executor.ParseHealthcheck("healthcheck", b.Healthcheck)
		if err != nil {
			return nil, connect.NewError(connect.CodeInvalidArgument, err)
		}
		c.file = executor.WithHealthcheck(c.file, hc)
	}
	c.warning = diags
	c.opts = compiler.Options{
		BuildArgs:    b.BuildArgs,
		SkipPrePost:  b.SkipPrePost,
		BaseTemplate: b.BaseTemplate,
		Context:      c.ctx,
	}
	copts := c.opts
	if templates != nil {
		copts.ResolveBase = func(name string) (digest.Digest, error) { return templates.ResolveTemplate(ctx, name) }
	}
	plan, cdiags := compiler.Compile(c.file, copts)
	if cdiags.HasErrors() {
		return nil, diagnosticsError(cdiags)
	}
	c.plan = plan
	return c, nil
}

// diagnosticsError is InvalidArgument with the first error as message and
// every diagnostic as a Diagnostics detail.
func diagnosticsError(diags lang.Diagnostics) error {
	e := &lang.Error{Diagnostics: diags}
	cerr := connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("invalid recipe: %s", e.Error()))
	if d, err := connect.NewErrorDetail(DiagnosticsProto(diags)); err == nil {
		cerr.AddDetail(d)
	}
	return cerr
}

// DiagnosticsProto converts diagnostics to the API's form.
func DiagnosticsProto(diags lang.Diagnostics) *buildv1.Diagnostics {
	out := &buildv1.Diagnostics{}
	for _, d := range diags {
		out.Diagnostics = append(out.Diagnostics, &buildv1.Diagnostic{
			Severity:    d.Severity.String(),
			Code:        d.Code,
			Message:     d.Message,
			Detail:      d.Detail,
			File:        d.Range.File,
			StartLine:   int32(d.Range.Start.Line),
			StartColumn: int32(d.Range.Start.Column),
			StartOffset: int32(d.Range.Start.Offset),
			EndLine:     int32(d.Range.End.Line),
			EndColumn:   int32(d.Range.End.Column),
			EndOffset:   int32(d.Range.End.Offset),
		})
	}
	return out
}

// DiagnosticsFromError extracts the Diagnostics detail of a CreateBuild
// error, nil when there is none.
func DiagnosticsFromError(err error) lang.Diagnostics {
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		return nil
	}
	var out lang.Diagnostics
	for _, d := range cerr.Details() {
		v, err := d.Value()
		if err != nil {
			continue
		}
		pd, ok := v.(*buildv1.Diagnostics)
		if !ok {
			continue
		}
		for _, x := range pd.Diagnostics {
			var sev lang.Severity
			_ = sev.UnmarshalText([]byte(x.Severity))
			out = append(out, lang.Diagnostic{
				Severity: sev, Code: x.Code, Message: x.Message, Detail: x.Detail,
				Range: lang.Range{
					File:  x.File,
					Start: lang.Pos{Line: int(x.StartLine), Column: int(x.StartColumn), Offset: int(x.StartOffset)},
					End:   lang.Pos{Line: int(x.EndLine), Column: int(x.EndColumn), Offset: int(x.EndOffset)},
				},
			})
		}
	}
	return out
}
