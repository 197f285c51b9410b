package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/opencontainers/go-digest"

	"wrenn.dev/wrenn/cache"
	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
	pb "wrenn.dev/wrenn/proto/hostagent/v1"
	lpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
)

func isUnimplemented(err error) bool { return connect.CodeOf(err) == connect.CodeUnimplemented }
func isNotFound(err error) bool      { return connect.CodeOf(err) == connect.CodeNotFound }

// agentFacts is what the executor learns about the agent once per build.
type agentFacts struct {
	id     string
	layers bool // LayerService answers
}

// hostAgentID names an agent without LayerService: its records can only be
// checked by trying to use them.
const hostAgentID = "hostagent"

func probeAgent(ctx context.Context, a Agent) (agentFacts, error) {
	resp, err := a.Info(ctx, connect.NewRequest(&lpb.InfoRequest{}))
	if err != nil {
		if isUnimplemented(err) {
			return agentFacts{id: hostAgentID}, nil
		}
		return agentFacts{}, fmt.Errorf("agent info: %w", err)
	}
	id := resp.Msg.AgentId
	if id == "" {
		id = hostAgentID
	}
	return agentFacts{id: id, layers: true}, nil
}

// prepareOptions fills the compiler's base identity and starting env: the
// identity from the agent's template digest, the env from the cache (keyed
// by agent, template and digest) or, the first time, from running `env` in
// a sandbox on the base with the seed's fallback when that fails.
func compilePlan(ctx context.Context, a Agent, s Store, facts agentFacts, req *Request) (*compiler.Plan, error) {
	opts := req.Options
	file := WithHealthcheck(req.File, req.Healthcheck)
	digests := map[string]digest.Digest{}
	if facts.layers {
		opts.ResolveBase = func(template string) (digest.Digest, error) {
			if d, ok := digests[template]; ok {
				return d, nil
			}
			resp, err := a.GetTemplate(ctx, connect.NewRequest(&lpb.GetTemplateRequest{Name: template}))
			if err != nil {
				if isNotFound(err) {
					return "", fmt.Errorf("base template %q is not on the agent (bootstrap it with `wrenn base`)", template)
				}
				return "", fmt.Errorf("base template %q: %w", template, err)
			}
			d, err := digest.Parse(resp.Msg.Template.Digest)
			if err != nil {
				d = digest.FromString("template:" + resp.Msg.Template.Id)
			}
			digests[template] = d
			return d, nil
		}
	}
	// A first compile, without the context (so it reads no file), names
	// the base templates the build needs. Their starting envs are probed
	// (a sandbox each, the first time) while an offline compile hashes
	// what the COPYs select, and both go into the real compile, which then
	// finds every digest made; it reports any problem either met.
	shallow := opts
	shallow.Context = nil
	plan, diags := compiler.Compile(file, shallow)
	var errs lang.Diagnostics
	for _, d := range diags.Errors() {
		if d.Code != compiler.CodeCopyNoContext || opts.Context == nil {
			errs = append(errs, d)
		}
	}
	if len(errs) > 0 {
		return nil, errors.New(errorLines(errs))
	}
	warmed := make(chan struct{})
	if opts.Context != nil {
		go func() {
			defer close(warmed)
			offline := opts
			offline.ResolveBase = nil
			compiler.Compile(file, offline)
		}()
	} else {
		close(warmed)
	}
	defer func() { <-warmed }() // on an early return too: the context is not ours to share
	envs := map[string]map[string]string{}
	for _, st := range plan.Stages {
		if st.BaseStage >= 0 {
			continue
		}
		if _, ok := envs[st.Base]; ok {
			continue
		}
		env, err := baseEnv(ctx, a, s, facts, st.Base, digests[st.Base], req.Events)
		if err != nil {
			return nil, err
		}
		envs[st.Base] = env
	}
	<-warmed
	opts.BaseEnvs = envs
	return compile(file, opts)
}

// compile runs the compiler and turns its errors into one error.
func compile(f *lang.File, opts compiler.Options) (*compiler.Plan, error) {
	plan, diags := compiler.Compile(f, opts)
	if errs := diags.Errors(); len(errs) > 0 {
		return nil, errors.New(errorLines(errs))
	}
	return plan, nil
}

// errorLines is one "range: message" line per diagnostic.
func errorLines(ds lang.Diagnostics) string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%v: %s", d.Range, d.Message)
	}
	return b.String()
}

// baseEnv returns the starting env of template.
func baseEnv(ctx context.Context, a Agent, s Store, facts agentFacts, template string, d digest.Digest, events func(Event)) (map[string]string, error) {
	if b, err := s.GetBase(ctx, facts.id, template); err == nil && b.Digest == d.String() && len(b.Env) > 0 {
		return b.Env, nil
	}
	env, err := fetchTemplateEnv(ctx, a, template, events)
	if err != nil {
		return nil, err
	}
	_ = s.PutBase(ctx, cache.Base{Agent: facts.id, Template: template, Digest: d.String(), Env: env, Updated: time.Now()})
	return env, nil
}

// fetchTemplateEnv runs `env` in a throwaway sandbox on template, as the
// seed's fetchSandboxEnv, falling back to compiler.FallbackEnv.
func fetchTemplateEnv(ctx context.Context, a Agent, template string, events func(Event)) (map[string]string, error) {
	resp, err := a.CreateSandbox(ctx, connect.NewRequest(&pb.CreateSandboxRequest{Template: template}))
	if err != nil {
		return nil, fmt.Errorf("create sandbox on %q to read its env: %w", template, err)
	}
	id := resp.Msg.SandboxId
	if events != nil {
		events(Event{Type: "sandbox", Sandbox: id})
	}
	defer destroy(a, id)
	out, err := a.Exec(ctx, connect.NewRequest(&pb.ExecRequest{SandboxId: id, Cmd: "/bin/sh", Args: []string{"-c", "env"}, TimeoutSec: 10}))
	if err != nil || out.Msg.ExitCode != 0 {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return compiler.FallbackEnv(), nil
	}
	// Per-sandbox variables (HOSTNAME, WRENN_SANDBOX_ID, …) would make
	// every key differ per sandbox; the sandbox sets them at run time.
	return compiler.FilterRuntimeEnv(parseEnv(string(out.Msg.Stdout))), nil
}

// parseEnv is the seed's parseSandboxEnv.
func parseEnv(raw string) map[string]string {
	env := map[string]string{}
	for line := range strings.SplitSeq(raw, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		env[k] = v
	}
	return env
}

// destroy removes a sandbox with a detached context, so that a cancelled
// build still cleans up.
func destroy(a HostAgent, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = a.DestroySandbox(ctx, connect.NewRequest(&pb.DestroySandboxRequest{SandboxId: id}))
}
