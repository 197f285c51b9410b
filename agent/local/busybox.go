package local

import (
	"embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// busyboxFiles are shell stand-ins for what Debian's busybox-static lacks
// (adduser, addgroup, nohup, bash) but build steps expect.
//
//go:embed busybox/*
var busyboxFiles embed.FS

// writeBusyboxRootfs makes a minimal rootfs: the static busybox with every
// applet linked, the usual directories, /etc/passwd, group and shadow with
// root, and adduser/addgroup/nohup/bash stand-ins.
func writeBusyboxRootfs(busybox, rootfs string) error {
	list, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("%s --list-full: %w (install busybox-static)", busybox, err)
	}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "etc/sudoers.d",
		"root", "home", "proc", "sys", "dev", "run", "var/tmp", "var/log", "mnt", "opt"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	for _, d := range []string{"tmp", "var/tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
		if err := os.Chmod(filepath.Join(rootfs, d), 0o1777); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(rootfs, "root"), 0o700); err != nil {
		return err
	}
	if err := copyFile(busybox, filepath.Join(rootfs, "bin/busybox"), 0o755); err != nil {
		return err
	}
	for _, applet := range strings.Fields(string(list)) {
		applet = strings.TrimPrefix(applet, "/")
		if applet == "bin/busybox" || strings.Contains(applet, "..") {
			continue
		}
		p := filepath.Join(rootfs, applet)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/bin/busybox", p); err != nil && !os.IsExist(err) {
			return err
		}
	}
	scripts := map[string]string{"adduser": "usr/sbin/adduser", "addgroup": "usr/sbin/addgroup", "bash": "bin/bash", "nohup": "usr/bin/nohup"}
	for name, dst := range scripts {
		p := filepath.Join(rootfs, dst)
		if _, err := os.Lstat(p); err == nil {
			continue // busybox has the real applet
		}
		data, err := busyboxFiles.ReadFile("busybox/" + name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			return err
		}
	}
	files := []struct {
		path, content string
		mode          os.FileMode
	}{
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", 0o644},
		{"etc/group", "root:x:0:\nsudo:x:27:\nusers:x:100:\nnogroup:x:65534:\n", 0o644},
		{"etc/shadow", "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n", 0o640},
		{"etc/os-release", "ID=busybox\nNAME=\"wrenn busybox\"\nPRETTY_NAME=\"wrenn busybox base\"\n", 0o644},
		{"etc/hostname", "wrenn\n", 0o644},
		{"etc/hosts", "127.0.0.1\tlocalhost\n", 0o644},
		{"etc/resolv.conf", "", 0o644},
		{"etc/shells", "/bin/sh\n/bin/ash\n/bin/bash\n", 0o644},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(rootfs, f.path), []byte(f.content), f.mode); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
