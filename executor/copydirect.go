package executor

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"connectrpc.com/connect"

	"wrenn.dev/wrenn/compiler"
	pb "wrenn.dev/wrenn/proto/hostagent/v1"
	lpb "wrenn.dev/wrenn/proto/wrenn/agent/v1"
)

// copyDirect writes a context COPY straight into its destination: one
// ExtractTar at / of a tar whose entries are named by where they land, with
// the owner and modes the copy script would give them
// (compiler.Context.WriteCopyTar). Each file is created once, and no
// process runs: the staging way creates every file twice (unpacked into
// the staging directory, then `cp -r`) and runs the script in the sandbox.
//
// It applies only where the result is the script's: the agent checks that
// no destination exists yet (ExtractTarHeader.absent; `cp -r` into an
// existing directory merges, and `chown -R` would take in what was there),
// and the --chown user and group must be found in the sandbox's
// /etc/passwd and /etc/group. done is false, with nothing written, when it
// does not apply; the caller then stages the copy as before.
func (b *builder) copyDirect(ctx context.Context, sb *sandbox, s *compiler.Step) (done bool, err error) {
	c := s.Copy
	ta, ok := b.req.Agent.(TarAgent)
	if !ok || !b.facts.layers || b.noExtract.Load() || c.FromStage >= 0 || c.Selection == nil || b.req.Options.Context == nil {
		return false, nil
	}
	var absent []string
	seen := map[string]bool{}
	for _, p := range c.Placements() {
		if p.To == "/" {
			return false, nil
		}
		if !seen[p.To] {
			seen[p.To] = true
			absent = append(absent, p.To)
		}
	}
	uid, gid, ok, err := b.resolveOwner(ctx, sb.id, c.Chown)
	if err != nil || !ok {
		return false, err
	}
	hdr := &lpb.ExtractTarHeader{SandboxId: sb.id, Path: "/", Absent: absent, ExtractionTimes: true}
	err = extractTar(ctx, ta, hdr, func(w io.Writer) error {
		return b.req.Options.Context.WriteCopyTar(w, c, uid, gid)
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errNoExtract):
		b.noExtract.Store(true)
		return false, nil
	case connect.CodeOf(err) == connect.CodeFailedPrecondition:
		return false, nil // a destination exists: the script merges into it
	}
	return false, fmt.Errorf("extract build files: %w", err)
}

// resolveOwner turns "user:group" (compiler.CopySpec.Chown) into ids as
// chown in the sandbox would: a name from the sandbox's /etc/passwd or
// /etc/group, else a number. ok is false when either is neither.
func (b *builder) resolveOwner(ctx context.Context, sandboxID, spec string) (uid, gid int, ok bool, err error) {
	user, group, _ := strings.Cut(spec, ":")
	if user == "" || group == "" {
		return 0, 0, false, nil
	}
	lookup := func(name, file string) (int, bool, error) {
		if name == "root" {
			// root is 0 in every base; no file to read for the common case
			return 0, true, nil
		}
		resp, err := b.req.Agent.ReadFile(ctx, connect.NewRequest(&pb.ReadFileRequest{SandboxId: sandboxID, Path: file}))
		if err != nil && connect.CodeOf(err) != connect.CodeNotFound {
			return 0, false, err
		}
		if err == nil {
			if id, found := lookupID(resp.Msg.Content, name); found {
				return id, true, nil
			}
		}
		if n, err := strconv.Atoi(name); err == nil && n >= 0 {
			return n, true, nil
		}
		return 0, false, nil
	}
	if uid, ok, err = lookup(user, "/etc/passwd"); err != nil || !ok {
		return 0, 0, false, err
	}
	if gid, ok, err = lookup(group, "/etc/group"); err != nil || !ok {
		return 0, 0, false, err
	}
	return uid, gid, true, nil
}

// lookupID finds name's id (the third field) in an /etc/passwd or
// /etc/group file.
func lookupID(file []byte, name string) (int, bool) {
	sc := bufio.NewScanner(bytes.NewReader(file))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= 3 && f[0] == name {
			if id, err := strconv.Atoi(f[2]); err == nil && id >= 0 {
				return id, true
			}
			return 0, false
		}
	}
	return 0, false
}
