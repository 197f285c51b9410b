package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"wrenn.dev/wrenn/agent"
)

// Bootstrap sources for BootstrapBase.
const (
	FromBusybox = "busybox"
	FromDebian  = "debian"
)

// DebianSuite is the release a Debian base is bootstrapped from.
const DebianSuite = "bookworm"

// BootstrapBase builds a base template named name: "busybox" from the
// host's static busybox (seconds; for tests), or "debian" with debootstrap
// (minbase plus sudo, adduser and ca-certificates, which the build's USER
// step and apt need), from the host's own Debian mirror. progress gets
// debootstrap's output.
func (b *Backend) BootstrapBase(ctx context.Context, name, from string, progress io.Writer) (agent.TemplateInfo, error) {
	if progress == nil {
		progress = io.Discard
	}
	switch from {
	case FromBusybox:
		return b.buildBase(ctx, name, func(rootfs string) error { return writeBusyboxRootfs(b.busybox, rootfs) })
	case FromDebian:
		return b.buildBase(ctx, name, func(rootfs string) error { return debootstrap(ctx, rootfs, progress) })
	}
	return agent.TemplateInfo{}, fmt.Errorf("bootstrap from %q: want %q or %q: %w", from, FromBusybox, FromDebian, errInvalid)
}

// debootstrap runs debootstrap --variant=minbase into rootfs.
func debootstrap(ctx context.Context, rootfs string, progress io.Writer) error {
	bin, err := exec.LookPath("debootstrap")
	if err != nil {
		return errors.New("debootstrap not found on PATH (apt-get install debootstrap)")
	}
	mirror := aptMirror()
	fmt.Fprintf(progress, "debootstrap %s from %s\n", DebianSuite, mirror)
	cmd := exec.CommandContext(ctx, bin, "--variant=minbase", "--include=sudo,adduser,ca-certificates",
		DebianSuite, rootfs, mirror)
	cmd.Stdout, cmd.Stderr = progress, progress
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("debootstrap: %w (see its output above)", err)
	}
	// the host's resolver config is bind-mounted per sandbox instead
	return os.WriteFile(filepath.Join(rootfs, "etc/resolv.conf"), nil, 0o644)
}

// aptMirror finds the host's Debian mirror in its apt sources (one-line or
// deb822 format), falling back to deb.debian.org.
func aptMirror() string {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*")
	files = append([]string{"/etc/apt/sources.list"}, files...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			var uris []string
			switch {
			case len(fields) >= 2 && fields[0] == "URIs:":
				uris = fields[1:]
			case len(fields) >= 3 && fields[0] == "deb":
				uris = fields[1:2]
				if strings.HasPrefix(fields[1], "[") {
					for i, f := range fields {
						if strings.HasSuffix(f, "]") && i+1 < len(fields) {
							uris = fields[i+1 : i+2]
							break
						}
					}
				}
			}
			for _, u := range uris {
				if strings.HasPrefix(u, "http") && !strings.Contains(u, "security") {
					return u
				}
			}
		}
	}
	return "http://deb.debian.org/debian"
}
