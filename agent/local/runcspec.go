package local

import (
	"encoding/json"

	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
)

// The subset of the OCI runtime spec this backend writes.
type ociSpec struct {
	OCIVersion string     `json:"ociVersion"`
	Process    ociProcess `json:"process"`
	Root       ociRoot    `json:"root"`
	Hostname   string     `json:"hostname,omitempty"`
	Mounts     []ociMount `json:"mounts"`
	Linux      ociLinux   `json:"linux"`
}

type ociProcess struct {
	Terminal     bool        `json:"terminal"`
	User         ociUser     `json:"user"`
	Args         []string    `json:"args"`
	Env          []string    `json:"env"`
	Cwd          string      `json:"cwd"`
	Capabilities ociCaps     `json:"capabilities"`
	Rlimits      []ociRlimit `json:"rlimits"`
	NoNewPrivs   bool        `json:"noNewPrivileges"`
}

type ociUser struct {
	UID uint32 `json:"uid"`
	GID uint32 `json:"gid"`
}

type ociCaps struct {
	Bounding    []string `json:"bounding"`
	Effective   []string `json:"effective"`
	Permitted   []string `json:"permitted"`
	Inheritable []string `json:"inheritable"`
	Ambient     []string `json:"ambient"`
}

type ociRlimit struct {
	Type string `json:"type"`
	Hard uint64 `json:"hard"`
	Soft uint64 `json:"soft"`
}

type ociRoot struct {
	Path     string `json:"path"`
	Readonly bool   `json:"readonly"`
}

type ociMount struct {
	Destination string   `json:"destination"`
	Type        string   `json:"type,omitempty"`
	Source      string   `json:"source,omitempty"`
	Options     []string `json:"options,omitempty"`
}

type ociLinux struct {
	Namespaces    []ociNamespace `json:"namespaces"`
	CgroupsPath   string         `json:"cgroupsPath"`
	Resources     ociResources   `json:"resources"`
	MaskedPaths   []string       `json:"maskedPaths"`
	ReadonlyPaths []string       `json:"readonlyPaths"`
}

type ociNamespace struct {
	Type string `json:"type"`
}

type ociResources struct {
	Devices []ociDevice `json:"devices"`
	Memory  *ociMemory  `json:"memory,omitempty"`
	CPU     *ociCPU     `json:"cpu,omitempty"`
	Pids    *ociPids    `json:"pids,omitempty"`
}

type ociDevice struct {
	Allow  bool   `json:"allow"`
	Access string `json:"access"`
}

type ociMemory struct {
	Limit int64 `json:"limit"`
	Swap  int64 `json:"swap"`
}

type ociCPU struct {
	Quota  int64  `json:"quota"`
	Period uint64 `json:"period"`
}

type ociPids struct {
	Limit int64 `json:"limit"`
}

// Docker's default capability set plus what package managers and build
// scripts commonly need; processes run as root in the sandbox.
var sandboxCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// busyboxInContainer is where the host's static busybox appears: under the
// container's /dev tmpfs, so nothing is added to the rootfs.
const busyboxInContainer = "/dev/.wrenn/busybox"

// reaperScript keeps the container alive and reaps orphans: ash's wait
// collects any child, including processes reparented to pid 1.
const reaperScript = "trap 'exit 0' TERM; while :; do " + busyboxInContainer + " sleep 2147483647 & wait; done"

// containerSpec is the runc config for a sandbox's long-lived container.
func (b *Backend) containerSpec(sb *sandbox) ociSpec {
	caps := sandboxCaps
	s := ociSpec{
		OCIVersion: "1.0.2-dev",
		Process: ociProcess{
			User: ociUser{0, 0},
			Args: []string{busyboxInContainer, "sh", "-c", reaperScript},
			Env:  sb.env,
			Cwd:  "/",
			Capabilities: ociCaps{
				Bounding: caps, Effective: caps, Permitted: caps, Inheritable: caps, Ambient: caps,
			},
			Rlimits: []ociRlimit{nofileLimit()},
		},
		Root:     ociRoot{Path: sb.merged()},
		Hostname: sb.hostname(),
		Mounts: []ociMount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
			{Destination: busyboxInContainer, Type: "bind", Source: b.busybox, Options: []string{"bind", "ro", "nosuid"}},
		},
		Linux: ociLinux{
			Namespaces: []ociNamespace{{"pid"}, {"ipc"}, {"uts"}, {"mount"}},
			// the parent is per root, so crash cleanup finds only ours
			CgroupsPath: "/" + b.cgName + "/" + sb.key,
			Resources: ociResources{
				Devices: []ociDevice{{Allow: false, Access: "rwm"}},
				Pids:    &ociPids{Limit: 32768},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
	if b.network == NetworkNone {
		s.Linux.Namespaces = append(s.Linux.Namespaces, ociNamespace{"network"})
	} else {
		// private copies, so a write in the sandbox never reaches the host
		for _, f := range []string{"resolv.conf", "hosts"} {
			s.Mounts = append(s.Mounts, ociMount{
				Destination: "/etc/" + f, Type: "bind", Source: filepath.Join(sb.dir, f),
				Options: []string{"bind", "rw", "nosuid", "nodev"},
			})
		}
	}
	if sb.spec.MemoryMB > 0 {
		limit := int64(sb.spec.MemoryMB) << 20
		s.Linux.Resources.Memory = &ociMemory{Limit: limit, Swap: limit}
	}
	if sb.spec.VCPUs > 0 {
		s.Linux.Resources.CPU = &ociCPU{Quota: int64(sb.spec.VCPUs) * 100000, Period: 100000}
	}
	return s
}

// writeBundle writes the container's config.json and the private
// resolv.conf/hosts copies.
func (b *Backend) writeBundle(sb *sandbox) error {
	if err := os.MkdirAll(sb.bundle(), 0o700); err != nil {
		return err
	}
	if b.network != NetworkNone {
		for _, f := range []string{"resolv.conf", "hosts"} {
			data, err := os.ReadFile("/etc/" + f)
			if err != nil {
				data = nil
			}
			if f == "hosts" {
				data = append(data, []byte("127.0.1.1\t"+sb.hostname()+"\n")...)
			}
			if err := os.WriteFile(filepath.Join(sb.dir, f), data, 0o644); err != nil {
				return err
			}
		}
	}
	data, err := json.MarshalIndent(b.containerSpec(sb), "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(sb.bundle(), "config.json"), data, 0o600)
}

// nofileLimit gives sandbox processes the agent's own hard limit on open
// files (a container may not raise it above the host's).
func nofileLimit() ociRlimit {
	var rl unix.Rlimit
	n := uint64(1024)
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && rl.Max > 0 {
		n = min(rl.Max, 1048576)
	}
	return ociRlimit{Type: "RLIMIT_NOFILE", Hard: n, Soft: n}
}
