package service

import (
	"context"
	"fmt"

	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
	buildv1 "wrenn.dev/wrenn/proto/wrenn/build/v1"
)

// Runner runs one build. It is the seam where executor.Build plugs in
// (cmd wires it); tests use a fake. Run reports progress through ev as it
// happens and returns when the build ends; on failure it may return a
// Result carrying only Logs alongside the error. On ctx cancel it must abort the
// running step and destroy the sandbox before returning.
type Runner interface {
	Run(ctx context.Context, job *Job, ev Events) (*Result, error)
}

// Job is what a worker hands the Runner: the stored request, re-parsed and
// re-validated, with its build context.
type Job struct {
	// Build is a copy of the record; the request fields (base_template,
	// healthcheck, vcpus, memory_mb, skip_pre_post, build_args) are set.
	Build *buildv1.Build
	// File is the parsed recipe or Wrennfile.
	File *lang.File
	// Context is the archive build context, nil without an archive.
	Context *compiler.Context
	// Options are the compile options the service validated with.
	Options compiler.Options
}

// Events receives a build's progress. Steps are numbered as in the seed's
// logs (1-based across all phases).
type Events interface {
	// Placed says which agent runs the build and in which sandbox.
	Placed(host, sandboxID string)
	StepStart(step int, phase, cmd string, cached bool)
	// Output is a chunk of a step's stdout or stderr ("stdout"/"stderr").
	Output(step int, stream string, data []byte)
	// StepEnd records the finished step; the entry is stored in the log.
	StepEnd(entry *buildv1.LogEntry)
}

// Result is what a successful build produced.
type Result struct {
	SandboxID    string
	Host         string
	DefaultUser  string
	DefaultEnv   map[string]string
	TemplateID   string
	TemplateType string
	SizeBytes    int64
	CachedSteps  int
	// Logs, when set, replace the log the events recorded: a runner that
	// streams only summaries gives the full stdout and stderr here.
	Logs []*buildv1.LogEntry
}

// StepError is a failed step, rendered in the seed's form
// "<phase> step <n> failed: <reason>".
type StepError struct {
	Phase  string
	Step   int
	Reason string
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s step %d failed: %s", e.Phase, e.Step, e.Reason)
}

// HostDownError says the agent running the build stopped answering: the
// build is re-queued (and placed on another agent) instead of failed.
type HostDownError struct {
	Host string
	Err  error
}

func (e *HostDownError) Error() string {
	return fmt.Sprintf("agent %s stopped answering: %v", e.Host, e.Err)
}

func (e *HostDownError) Unwrap() error { return e.Err }
