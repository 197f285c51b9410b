// Package benchfs gives benchmarks a fresh filesystem to work in.
//
// What a filesystem went through before shows in what is measured on it:
// on an ext4 without a journal (the root of this project's machine),
// creating a file skips every inode of its block group that was deleted in
// the last one to six minutes (the kernel's recently_deleted check), so a
// build benchmark right after another benchmark's clean-up ran up to twice
// as long. A fresh ext4 (mkfs.ext4 defaults, with a journal, as a typical
// /var/lib) has no such history.
package benchfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// Dir returns an empty directory on a fresh 4 GiB ext4 image (sparse,
// loop-mounted), unmounted and removed when b ends. Without root,
// mkfs.ext4 or a loop device, or with BENCH_FS=here in the environment,
// it is b.TempDir, and the benchmark says so (as bench/build/run.sh).
func Dir(b testing.TB) string {
	b.Helper()
	if os.Getenv("BENCH_FS") == "here" || os.Geteuid() != 0 {
		b.Log("benchfs: on the current filesystem (BENCH_FS=here or not root)")
		return b.TempDir()
	}
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		b.Log("benchfs: no mkfs.ext4, on the current filesystem")
		return b.TempDir()
	}
	tmp := b.TempDir()
	img := filepath.Join(tmp, "fs.img")
	mnt := filepath.Join(tmp, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.Truncate(img, 4<<30); err != nil {
		b.Fatal(err)
	}
	for _, c := range [][]string{{mkfs, "-q", "-F", img}, {"mount", "-o", "loop", img, mnt}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			b.Logf("benchfs: %s: %v: %s; on the current filesystem", c[0], err, out)
			return b.TempDir()
		}
	}
	// registered after TempDir's removal, so it runs before it
	b.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			_ = unix.Unmount(mnt, unix.MNT_DETACH)
		}
	})
	return mnt
}
