package lang

// Doc documents one instruction. It is the single source for the language
// server's hover text and for the instruction subsections of SPEC.md; a test
// checks that SPEC.md contains every Summary and flag Doc verbatim.
type Doc struct {
	Syntax  string
	Summary string
	// Body is markdown: semantics and seed notes.
	Body  string
	Flags []FlagDoc
}

// FlagDoc documents one flag of an instruction.
type FlagDoc struct {
	Name    string // without "--"
	Value   string // placeholder of the value, "" for a bare flag
	Default string
	Doc     string
}

// Markdown renders d for hover: syntax, summary, body and flags.
func (d Doc) Markdown() string {
	s := "```wrennfile\n" + d.Syntax + "\n```\n\n" + d.Summary + "\n\n" + d.Body
	if len(d.Flags) > 0 {
		s += "\n\n| flag | default | meaning |\n|---|---|---|\n"
		for _, f := range d.Flags {
			s += "| `" + f.Usage() + "` | " + f.Default + " | " + f.Doc + " |\n"
		}
	}
	return s
}

// Usage is the flag as written, e.g. "--timeout=<duration>".
func (f FlagDoc) Usage() string {
	if f.Value == "" {
		return "--" + f.Name
	}
	return "--" + f.Name + "=<" + f.Value + ">"
}

var noCacheFlag = FlagDoc{Name: "no-cache", Default: "off", Doc: "always run this step, even when its layer key is cached; the steps after it run again too. Not part of the layer key."}

// InstructionDocs documents every instruction, keyed by Kind.
var InstructionDocs = map[Kind]Doc{
	KindFrom: {
		Syntax:  "FROM <template> [AS <name>]",
		Summary: "Starts a stage from a base template, or from an earlier stage by its name.",
		Body: "FROM is optional; a file without it has one stage on the build's base template (`minimal` unless the build says otherwise). " +
			"When present, only ARG may come before the first FROM (those ARGs form stage 0, whose names are in scope in every stage). " +
			"Each FROM starts a new stage; `AS <name>` names it for a later `FROM <name>` or `COPY --from=<name>`. " +
			"`AS` is case-insensitive. The last stage becomes the template.",
	},
	KindArg: {
		Syntax:  "ARG <NAME>[=<default>]",
		Summary: "Declares a build argument, optionally with a default value.",
		Body: "NAME is a shell variable name (`[A-Za-z_][A-Za-z0-9_]*`). Everything after the first `=` is the default, literally, like ENV. " +
			"The value is the build's `--build-arg NAME=…` if given, else the default. ARG makes no layer; its value is part of the keys of the steps after it.",
	},
	KindRun: {
		Syntax:  "RUN [--timeout=<duration>] [--user=<name>] [--no-cache] <command>",
		Summary: "Runs a shell command in the template, as the current user in the current WORKDIR with the current env.",
		Body: "The command is the rest of the line (continuation lines joined) and runs with `/bin/sh -c`; it is checked as POSIX shell. " +
			"A non-zero exit fails the build. Seed note: the seed accepted `--timeout=` right after `RUN`; wrenn accepts flags in any order before the command.",
		Flags: []FlagDoc{
			{Name: "timeout", Value: "duration", Default: "30s (10m in the pre/post phases)", Doc: "a Go duration such as 90s or 5m; the step fails when it runs longer. Not part of the layer key."},
			{Name: "user", Value: "name", Default: "the current user", Doc: "run this step as another user without changing the current user."},
			noCacheFlag,
		},
	},
	KindStart: {
		Syntax:  "START <command>",
		Summary: "Starts a long-running process that lives on into the template's memory snapshot.",
		Body: "The command runs detached (`nohup /bin/sh -c '<command>' >/dev/null 2>&1 &`) as the current user. " +
			"It survives only into a snapshot, so a template with START needs a HEALTHCHECK. START takes no flags: the rest of the line is the command, as in the seed.",
	},
	KindEnv: {
		Syntax:  "ENV <KEY>=<value>",
		Summary: "Sets one environment variable for the steps after it and for the template.",
		Body: "The line is split on the first `=`: the value is the rest of the line, literally, with spaces and quotes kept (`ENV A=1 B=2` sets A to `1 B=2`). " +
			"`$VAR` and `${VAR}` in the value are expanded once against the current env; `$$` is `$`. ENV without `=`, or with an empty or invalid KEY, is an error, as in the seed.",
	},
	KindWorkdir: {
		Syntax:  "WORKDIR [--no-cache] <path>",
		Summary: "Creates a directory (as root) and makes it the working directory of the steps after it.",
		Body: "The path is the rest of the line after the flags, spaces included. A relative path is joined to the current WORKDIR. " +
			"Seed note: a path starting with `--` is read as a flag; in the seed such a path made `mkdir -p` fail.",
		Flags: []FlagDoc{noCacheFlag},
	},
	KindUser: {
		Syntax:  "USER [--no-cache] <name>",
		Summary: "Switches the current user, creating it first when it does not exist.",
		Body: "The name matches `[A-Za-z_][A-Za-z0-9_-]*`. A new user gets a home directory and passwordless sudo, as in the seed. " +
			"HOME becomes `/root` or `/home/<name>`.",
		Flags: []FlagDoc{noCacheFlag},
	},
	KindCopy: {
		Syntax:  "COPY [--chown=<user>[:<group>]] [--chmod=<mode>] [--from=<stage>] [--no-cache] <src>... <dest>",
		Summary: "Copies files from the build context (or another stage) into the template.",
		Body: "Sources are relative to the build context; absolute sources and sources with a `..` component are errors. " +
			"With `--from`, sources are paths in the other stage and may be absolute. A relative destination is joined to the WORKDIR. " +
			"Arguments are split on whitespace.",
		Flags: []FlagDoc{
			{Name: "chown", Value: "user[:group]", Default: "the current user", Doc: "owner of the copied files; names or numeric ids."},
			{Name: "chmod", Value: "mode", Default: "kept from the source", Doc: "permission bits of the copied files, three or four octal digits."},
			{Name: "from", Value: "stage", Default: "the build context", Doc: "copy from an earlier stage, by name or index, instead of the context."},
			noCacheFlag,
		},
	},
	KindHealthcheck: {
		Syntax:  "HEALTHCHECK [--interval=<duration>] [--timeout=<duration>] [--start-period=<duration>] [--retries=<n>] [CMD] <command>",
		Summary: "Checks that the template's started process is ready before the memory snapshot is taken.",
		Body: "The command runs as the template's default user, first after one interval, then every interval, until it exits 0. " +
			"Failures within the start period do not count. With retries > 0 the build fails after that many failures; 0 means unlimited. " +
			"The word `CMD` before the command is optional. The last HEALTHCHECK of the final stage is used. " +
			"A healthcheck given to the build instead (the seed's parameter) has the same syntax without the keyword.",
		Flags: []FlagDoc{
			{Name: "interval", Value: "duration", Default: "3s", Doc: "time between probes; must be positive."},
			{Name: "timeout", Value: "duration", Default: "10s", Doc: "time one probe may take; must be positive."},
			{Name: "start-period", Value: "duration", Default: "0s", Doc: "failures within this time after the first probe do not count."},
			{Name: "retries", Value: "n", Default: "0", Doc: "consecutive failures that fail the build; 0 means unlimited."},
		},
	},
}

// flagNames lists the flags kind accepts.
func flagNames(kind Kind) []string { return kindFlags[kind] }

var kindFlags = func() map[Kind][]string {
	out := map[Kind][]string{}
	for kind, d := range InstructionDocs {
		for _, f := range d.Flags {
			out[kind] = append(out[kind], f.Name)
		}
	}
	return out
}()
