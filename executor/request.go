package executor

import (
	"time"

	"wrenn.dev/wrenn/compiler"
	"wrenn.dev/wrenn/lang"
)

// Request is one build. The executor compiles File itself (with Options)
// because a step's key depends on the base template's identity and starting
// env, which only the agent (or the cache's memory of it) knows.
type Request struct {
	// Agent runs the build; Store is the layer cache.
	Agent   Agent
	Store   Store
	File    *lang.File
	Options compiler.Options
	// Name is the template the build produces; "" names it after the
	// final key ("wrenn-<12 hex digits>"). A non-empty Name is also
	// recorded as a cache ref.
	Name string
	// NoCache runs every step; NoCacheSteps runs the listed step IDs (and,
	// since keys chain, everything after them in their stage).
	NoCache      bool
	NoCacheSteps map[int]bool
	// Layer decides which steps get a layer of their own; nil commits
	// every step that changes files (Step.MakesLayer).
	Layer func(*compiler.Step) bool
	// Healthcheck sets or overrides the target's healthcheck, as the
	// seed's CreateBuild parameter: it acts as a HEALTHCHECK line at the
	// end of the target stage (the last one is used). ParseHealthcheck
	// makes one from the parameter's string. A build with a healthcheck
	// ends in a snapshot once it passes.
	Healthcheck *lang.HealthcheckInstr
	VCPUs       int
	MemoryMB    int
	// Events receives progress; nil discards it. Calls are sequential.
	Events func(Event)
	// BuildID names the lease; "" generates one.
	BuildID string
	// LeaseTTL bounds how long a crashed build's lease can block prune
	// (a dead pid ends it sooner); 0 is 24 h.
	LeaseTTL time.Duration
}

// Event is one progress report.
//
// Types: "step-start", "output" (a chunk of a running step's stdout or
// stderr, as it arrives), "step-end", "sandbox" (a sandbox was created for
// the build; Sandbox names it) and "info".
type Event struct {
	Type    string
	Step    int
	Total   int
	Phase   string
	Cmd     string
	Status  string // step-end: "cached", "done", "failed"
	Exit    int
	Elapsed time.Duration
	Output  string // step-end: the last line of output
	Message string // info
	Stream  string // output: "stdout" or "stderr"
	Data    string // output: the chunk
	Sandbox string // sandbox: the sandbox's id on the agent
}

// LogEntry is one step of the build log, with the seed's fields plus
// Cached.
type LogEntry struct {
	Step      int    `json:"step"`
	Phase     string `json:"phase"`
	Cmd       string `json:"cmd"`
	Stdout    string `json:"stdout"`
	Stderr    string `json:"stderr"`
	Exit      int    `json:"exit"`
	Ok        bool   `json:"ok"`
	ElapsedMs int64  `json:"elapsed_ms"`
	Cached    bool   `json:"cached"`
}

// Status of a finished build.
const (
	StatusSuccess   = "success"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Result is what a build produced.
type Result struct {
	Status   string
	Plan     *compiler.Plan
	Template string // the template name on the agent
	Type     string // "snapshot" or "base", as the seed's template types
	// DefaultUser and DefaultEnv are recorded for the template.
	DefaultUser string
	DefaultEnv  map[string]string
	Logs        []LogEntry
	Steps       int // steps in the plan
	Cached      int // steps not run
	Ran         int
	// NoSandbox is true when the whole result came from the cache.
	NoSandbox bool
	Elapsed   time.Duration
	SizeBytes int64
}
