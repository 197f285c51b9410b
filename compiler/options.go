package compiler

import (
	"time"

	"github.com/opencontainers/go-digest"
)

// Seed defaults.
const (
	DefaultBaseTemplate = "minimal"
	// DefaultRecipeTimeout bounds a recipe step without --timeout.
	DefaultRecipeTimeout = 30 * time.Second
	// DefaultPhaseTimeout bounds a pre- or post-build step.
	DefaultPhaseTimeout = 10 * time.Minute
	// DefaultStartTimeout bounds the exec that launches a START process.
	DefaultStartTimeout = 10 * time.Second
	// BuildUser is the user the pre-build phase creates and switches to.
	BuildUser = "wrenn-user"
	// StagingDir is where the executor unpacks the build context's
	// selected files, the seed's archive extraction directory.
	StagingDir = "/tmp/build-files"
)

// FallbackEnv is the seed's starting environment when the sandbox's `env`
// cannot be read. It is also what Compile assumes when no BaseEnv is given:
// the real starting environment is only known once a sandbox runs, so the
// executor fetches it (once per base digest) and recompiles with it when it
// differs.
func FallbackEnv() map[string]string {
	return map[string]string{
		"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME": "/root",
	}
}

// BaseResolver maps a base template name to the digest of its identity
// (for the local agent, the digest of the base rootfs layer). The executor
// supplies one backed by the agent or the cache.
type BaseResolver func(template string) (digest.Digest, error)

// Options control Compile.
type Options struct {
	// BuildArgs set ARG values (--build-arg).
	BuildArgs map[string]string
	// SkipPrePost leaves out the pre- and post-build phases; it is OR'd
	// with the file's skip-pre-post directive.
	SkipPrePost bool
	// Target is the stage to build (its name or index); "" is the last.
	Target string
	// BaseTemplate is the base of a file without FROM; "" is "minimal".
	BaseTemplate string
	// ResolveBase gives a base template's identity digest. When nil (an
	// offline compile) the identity is digest.FromString("name:"+template)
	// marked unresolved in the preimage, so keys differ from the ones a
	// build with the real identity computes.
	ResolveBase BaseResolver
	// BaseEnv is the starting environment of every base template; nil is
	// FallbackEnv. BaseEnvs overrides it per template name. The starting
	// environment is part of the base key.
	BaseEnv  map[string]string
	BaseEnvs map[string]map[string]string
	// Context is the build context COPY reads; nil when there is none.
	Context *Context
	// RecipeTimeout, PhaseTimeout and StartTimeout override the seed's
	// defaults (30 s, 10 min, 10 s) when non-zero.
	RecipeTimeout time.Duration
	PhaseTimeout  time.Duration
	StartTimeout  time.Duration
}

func (o *Options) recipeTimeout() time.Duration {
	if o.RecipeTimeout > 0 {
		return o.RecipeTimeout
	}
	return DefaultRecipeTimeout
}

func (o *Options) phaseTimeout() time.Duration {
	if o.PhaseTimeout > 0 {
		return o.PhaseTimeout
	}
	return DefaultPhaseTimeout
}

func (o *Options) startTimeout() time.Duration {
	if o.StartTimeout > 0 {
		return o.StartTimeout
	}
	return DefaultStartTimeout
}

func (o *Options) baseEnv(template string) map[string]string {
	if e, ok := o.BaseEnvs[template]; ok {
		return copyMap(e)
	}
	if o.BaseEnv != nil {
		return copyMap(o.BaseEnv)
	}
	return FallbackEnv()
}

// baseIdentity resolves a template name, offline when no resolver is set.
func (o *Options) baseIdentity(template string) (BaseIdentity, error) {
	if o.ResolveBase == nil {
		return BaseIdentity{Template: template, Digest: digest.FromString("name:" + template), Unresolved: true}, nil
	}
	d, err := o.ResolveBase(template)
	if err != nil {
		return BaseIdentity{Template: template, Digest: digest.FromString("name:" + template), Unresolved: true}, err
	}
	return BaseIdentity{Template: template, Digest: d}, nil
}
