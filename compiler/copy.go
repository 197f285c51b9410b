package compiler

import (
	"path"
	"strconv"
	"strings"
)

// CopySpec is what a COPY step does, resolved against the build state.
type CopySpec struct {
	// Sources as written, cleaned.
	Sources []string
	// Dest is absolute: a relative destination is joined to the WORKDIR
	// (or /). A trailing slash is kept: it means "into this directory".
	Dest string
	// Chown is "user:group"; without --chown the current user, as the seed
	// does (`chown -R U:U dst`).
	Chown string
	// Chmod is the --chmod mode as written (octal), "" for none.
	Chmod string
	// FromStage is the plan index (Plan.Stages) of the --from stage, -1
	// for the build context.
	FromStage int
	// Staging is where the executor must place the sources before running
	// Script: the context's selected files (Context.WriteTar) unpacked into
	// it, or for --from the source stage's paths copied under it with their
	// absolute paths.
	Staging string
	// Selection is the context files the COPY takes (nil with --from).
	Selection *Selection
}

// intoDir reports whether the destination is a directory the sources go
// into rather than a path they are copied to.
func (c *CopySpec) intoDir() bool {
	if strings.HasSuffix(c.Dest, "/") {
		return true
	}
	if c.Selection == nil {
		return len(c.Sources) > 1
	}
	n := 0
	for _, m := range c.Selection.Matches {
		n += len(m.Roots)
	}
	return n > 1
}

// destPath is Dest without its trailing slash ("/" for the root).
func (c *CopySpec) destPath() string {
	dest := strings.TrimSuffix(c.Dest, "/")
	if dest == "" {
		dest = "/"
	}
	return dest
}

// Placement is where one source root of a context COPY lands, as Script
// places it: a directory's contents go into To (`cp -r root/. To`), a file
// or symlink becomes To.
type Placement struct {
	Root *Entry
	To   string // absolute path in the sandbox
}

// Placements are the COPY's roots in the order Script copies them, with
// where each lands; nil for COPY --from, whose sources are only known in
// the sandbox.
func (c *CopySpec) Placements() []Placement {
	if c.Selection == nil {
		return nil
	}
	dest, into := c.destPath(), c.intoDir()
	var out []Placement
	for _, m := range c.Selection.Matches {
		for _, r := range m.Roots {
			to := dest
			if r.Type != TypeDir && into {
				to = path.Join(dest, path.Base(r.Path))
			}
			out = append(out, Placement{Root: r, To: to})
		}
	}
	return out
}

// Script is the root shell script that performs the copy from Staging:
// for each matched source `cp -r` (a directory copies its contents), then
// `chown -R` and with --chmod `chmod -R` on what was copied.
func (c *CopySpec) Script() string {
	dest := c.destPath()
	into := c.intoDir()
	var cmds, targets []string
	if c.Selection != nil {
		for _, p := range c.Placements() {
			s := Quote(path.Join(c.Staging, p.Root.Path))
			switch {
			case p.Root.Type == TypeDir:
				cmds = append(cmds, "mkdir -p "+Quote(dest), "cp -r "+Quote(path.Join(c.Staging, p.Root.Path)+"/.")+" "+Quote(dest))
			case into:
				cmds = append(cmds, "mkdir -p "+Quote(dest), "cp -r "+s+" "+Quote(dest+"/"))
			default:
				cmds = append(cmds, "mkdir -p "+Quote(path.Dir(dest)), "cp -r "+s+" "+Quote(dest))
			}
			targets = append(targets, p.To)
		}
	} else {
		// --from: the source's type is only known in the sandbox.
		for _, src := range c.Sources {
			s := path.Join(c.Staging, src)
			t := dest
			if into {
				t = path.Join(dest, path.Base(src))
			}
			cmds = append(cmds, "if [ -d "+Quote(s)+" ]; then mkdir -p "+Quote(dest)+" && cp -r "+Quote(s+"/.")+" "+Quote(dest)+
				"; else mkdir -p "+Quote(path.Dir(t))+" && cp -r "+Quote(s)+" "+Quote(t)+"; fi")
			targets = append(targets, dest)
		}
	}
	targets = dedupe(targets)
	for _, t := range targets {
		cmds = append(cmds, "chown -R "+Quote(c.Chown)+" "+Quote(t))
	}
	if c.Chmod != "" {
		for _, t := range targets {
			cmds = append(cmds, "chmod -R "+c.Chmod+" "+Quote(t))
		}
	}
	return strings.Join(dedupe(cmds), " && ")
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// chownSpec turns --chown (or the current user) into "user:group".
func chownSpec(flag, user string) string {
	if flag == "" {
		flag = user
	}
	if strings.Contains(flag, ":") {
		return flag
	}
	return flag + ":" + flag
}

// validChmod accepts an octal mode of 3 or 4 digits.
func validChmod(s string) bool {
	if len(s) < 3 || len(s) > 4 {
		return false
	}
	_, err := strconv.ParseUint(s, 8, 32)
	return err == nil
}
