package compiler

import (
	"sort"
	"strings"
)

// Quote single-quotes s for /bin/sh the way the seed does: the whole
// string between single quotes, each single quote inside written as
// quote, backslash, quote, quote.
func Quote(s string) string {
	return "'" + escapeQuotes(s) + "'"
}

// statePrefix is the seed's `[cd 'WD' && ][K='v' … ]` prefix: the
// directory change when a workdir is set, then every variable, sorted by
// name.
func statePrefix(workdir string, env map[string]string) string {
	var b strings.Builder
	if workdir != "" {
		b.WriteString("cd ")
		b.WriteString(Quote(workdir))
		b.WriteString(" && ")
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(Quote(env[k]))
		b.WriteByte(' ')
	}
	return b.String()
}

// asUser wraps a script in `su 'U' -s /bin/sh -c '…'` for a non-root user.
func asUser(user, script string) string {
	if user == "" || user == "root" {
		return script
	}
	return "su " + Quote(user) + " -s /bin/sh -c " + Quote(script)
}

// RunScript is the seed's wrapping of a RUN command: the /bin/sh -c
// argument that runs cmd in workdir with env as user.
func RunScript(user, workdir string, env map[string]string, cmd string) string {
	return runWithPrefix(user, statePrefix(workdir, env), cmd)
}

func runWithPrefix(user, prefix, cmd string) string {
	return asUser(user, prefix+"/bin/sh -c "+Quote(cmd))
}

// StartScript is the seed's wrapping of a START command: like RUN, but
// detached with nohup and its output discarded, so the exec returns at once
// and the process lives on into the snapshot.
func StartScript(user, workdir string, env map[string]string, cmd string) string {
	return startWithPrefix(user, statePrefix(workdir, env), cmd)
}

func startWithPrefix(user, prefix, cmd string) string {
	return asUser(user, prefix+"nohup /bin/sh -c "+Quote(cmd)+" >/dev/null 2>&1 &")
}

// WorkdirScript creates a WORKDIR as root.
func WorkdirScript(dir string) string { return "mkdir -p " + Quote(dir) }

// UserScript creates a user as root when it does not exist yet, with a
// passwordless sudoers entry, as the seed's USER step does. The executor
// may adapt it for bases whose adduser differs (busybox).
func UserScript(name string) string {
	if name == "root" {
		return "true"
	}
	q := Quote(name)
	return "id -u " + q + " >/dev/null 2>&1 || { adduser --disabled-password --gecos '' --shell /bin/bash " + q +
		" && mkdir -p /etc/sudoers.d && echo " + Quote(name+" ALL=(ALL) NOPASSWD:ALL") + " > /etc/sudoers.d/" + q +
		" && chmod 0440 /etc/sudoers.d/" + q + "; }"
}
