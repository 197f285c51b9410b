package local

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOverlay mounts target with the chain's directories as lowers (top
// first) and upper/work given relative to the root. The mount is volatile:
// neither fsync in the sandbox nor the unmount at a commit waits for the
// disk; the syncer makes layers durable (see unsyncedMarker). Like Docker's overlay2,
// lowers are named by their short l/ links relative to the root, so 100
// layers take ~1.3 kB of the one page that mount(2) data may use; a chain
// too long for that is mounted with fsconfig "lowerdir+" (Linux 6.8+), one
// layer per call.
func (b *Backend) mountOverlay(chain []lowerEntry, upper, work, target string) error {
	if len(chain) > maxLowers {
		return fmt.Errorf("layer chain has %d directories; overlayfs allows %d", len(chain), maxLowers)
	}
	links := make([]string, len(chain))
	for i, e := range chain {
		links[i] = "l/" + e.link
	}
	relUpper, err1 := filepath.Rel(b.root, upper)
	relWork, err2 := filepath.Rel(b.root, work)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("overlay dirs outside the root")
	}
	data := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,index=off,redirect_dir=off,metacopy=off", strings.Join(links, ":"), relUpper, relWork)
	if len(data)+len(",volatile") < os.Getpagesize()-1 && !b.forceFsconfig {
		var err error = unix.EINVAL
		if !b.noVolatile.Load() {
			if err = mountFrom(b.root, data+",volatile", target); err == unix.EINVAL {
				b.noVolatile.Store(true) // before Linux 5.10
			}
		}
		if err == unix.EINVAL {
			err = mountFrom(b.root, data, target)
		}
		if err != nil {
			return fmt.Errorf("mount overlay on %s (%d lowers): %w", target, len(chain), err)
		}
		return nil
	}
	for i := range links {
		links[i] = filepath.Join(b.root, links[i])
	}
	if err := mountFsconfig(links, upper, work, target, !b.noVolatile.Load()); err != nil {
		return fmt.Errorf("mount overlay on %s (%d lowers, fsconfig): %w", target, len(chain), err)
	}
	return nil
}

// mountFrom runs mount(2) with dir as the working directory, so relative
// paths in data resolve under it. The chdir happens on a locked thread with
// its own fs context (unshare CLONE_FS) that exits with the goroutine, so no
// other goroutine sees it.
func mountFrom(dir, data, target string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the runtime discards the thread
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		if err := unix.Chdir(dir); err != nil {
			errc <- err
			return
		}
		errc <- unix.Mount("overlay", target, "overlay", 0, data)
	}()
	return <-errc
}

// mountFsconfig mounts with the new mount API, appending lowers one by one.
func mountFsconfig(lowers []string, upper, work, target string, volatile bool) error {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen: %w", err)
	}
	defer unix.Close(fd)
	for _, l := range lowers {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			return fmt.Errorf("lowerdir+ %s: %w (needs Linux 6.8)", l, err)
		}
	}
	for _, kv := range [][2]string{{"upperdir", upper}, {"workdir", work}, {"index", "off"}, {"redirect_dir", "off"}, {"metacopy", "off"}} {
		if err := unix.FsconfigSetString(fd, kv[0], kv[1]); err != nil {
			return fmt.Errorf("%s: %w", kv[0], err)
		}
	}
	if volatile {
		if err := unix.FsconfigSetFlag(fd, "volatile"); err != nil {
			return fmt.Errorf("volatile: %w", err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fsmount: %w", err)
	}
	defer unix.Close(mfd)
	return unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
}

// unmount detaches target; not mounted is fine.
func unmount(target string) error {
	for {
		err := unix.Unmount(target, unix.MNT_DETACH)
		if err == unix.EINVAL || err == unix.ENOENT {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
		// stacked mounts: go on until nothing is mounted there
	}
}

// mountsUnder lists the mount points below dir (not dir itself, which may
// be a mount the operator made), deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, sc.Err()
}

// cgroupMounts lists the mount points of cgroup (v1) and cgroup2 hierarchies.
func cgroupMounts() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, typ := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(typ) < 1 || (typ[0] != "cgroup" && typ[0] != "cgroup2") {
			continue
		}
		out = append(out, unescapeMountinfo(fields[4]))
	}
	return out
}

// unescapeMountinfo undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				sb.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}
