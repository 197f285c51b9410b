package local

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"wrenn.dev/wrenn/agent"
)

// Run: go test ./agent/local -run '^$' -bench . -benchtime 20x

// chainOf commits n layers of one small file each and returns the top.
func chainOf(b *testing.B, be *Backend, n int) string {
	b.Helper()
	ctx := context.Background()
	id := newSandbox(b, be, agent.SandboxSpec{})
	defer be.DestroySandbox(ctx, id)
	top := ""
	for i := 0; i < n; i++ {
		if err := be.WriteFile(ctx, id, fmt.Sprintf("/l/%d", i), []byte("x")); err != nil {
			b.Fatal(err)
		}
		l, err := be.CommitLayer(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		top = l.ID
	}
	return top
}

// BenchmarkCreateFromChain: mount + container start of a sandbox on a
// chain of 1, 10 and 100 layers (destroy not timed).
func BenchmarkCreateFromChain(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("layers=%d", n), func(b *testing.B) {
			be := newTestBackend(b)
			top := chainOf(b, be, n)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				info, err := be.CreateSandbox(ctx, agent.SandboxSpec{Layer: top})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := be.DestroySandbox(ctx, info.ID); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkExecTrue: one Exec of true through the backend, under runc and
// under crun: a one-shot container (no START yet: `run`, pid report,
// output pipes), and `exec` in the long-lived container a START leaves
// running.
func BenchmarkExecTrue(b *testing.B) {
	for _, rt := range Runtimes {
		b.Run("rt="+rt, func(b *testing.B) {
			be := newTestBackendWith(b, rt)
			id := newSandbox(b, be, agent.SandboxSpec{})
			ctx := context.Background()
			bench := func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					code, err := be.Exec(ctx, id, agent.ExecSpec{Cmd: "true"}, nil, nil, nil)
					if err != nil || code != 0 {
						b.Fatal(code, err)
					}
				}
			}
			b.Run("one-shot", bench)
			if code, err := be.Exec(ctx, id, agent.ExecSpec{Cmd: "/bin/sh", Args: []string{"-c", "nohup sleep 1000 >/dev/null 2>&1 &"}}, nil, nil, nil); err != nil || code != 0 {
				b.Fatal(code, err)
			}
			b.Run("after-START", bench)
		})
	}
}

// BenchmarkRuntimeByHand is the baseline for BenchmarkExecTrue, per
// runtime: `exec CTR true` in the same running container, and a one-shot
// `run` of true on the base rootfs (a fresh container and cgroup each time,
// no overlay; crun on a hybrid cgroup host with its private mount
// namespace, as the backend runs it).
func BenchmarkRuntimeByHand(b *testing.B) {
	for _, rt := range Runtimes {
		b.Run("rt="+rt, func(b *testing.B) {
			be := newTestBackendWith(b, rt)
			id := newSandbox(b, be, agent.SandboxSpec{})
			sb, _ := be.get(id)
			if err := be.ensureRunning(sb); err != nil {
				b.Fatal(err)
			}
			b.Run("exec", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if out, err := be.runtimeCmd("", "exec", sb.ctrID(), "true").CombinedOutput(); err != nil {
						b.Fatal(err, string(out))
					}
				}
			})
			b.Run("run", func(b *testing.B) {
				tmpl, err := be.findTemplate(agent.TemplateRef{Name: "minimal"})
				if err != nil {
					b.Fatal(err)
				}
				bundle := b.TempDir()
				spec := be.containerSpec(sb)
				spec.Root = ociRoot{Path: filepath.Join(be.templateDir(tmpl.ID), "rootfs"), Readonly: true}
				spec.Process.Args = []string{"true"}
				spec.Mounts = spec.Mounts[:6]
				spec.Linux.CgroupsPath = "/" + be.cgName + "/byhand"
				data, _ := json.Marshal(spec)
				if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					cmd := be.runtimeRunCmd("", "run", "--bundle", bundle, fmt.Sprintf("byhand-%d", i))
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Fatal(err, string(out))
					}
				}
			})
		})
	}
}

// BenchmarkCommit1MB commits a 1 MB change on a 10 MB and a 1 GB base: the
// time must not grow with the base (the upper directory is renamed).
func BenchmarkCommit1MB(b *testing.B) {
	for _, base := range []struct {
		name string
		size int64
	}{{"base=10MB", 10 << 20}, {"base=1GB", 1 << 30}} {
		b.Run(base.name, func(b *testing.B) {
			be := newTestBackend(b)
			ctx := context.Background()
			_, err := be.buildBase(ctx, "big", func(rootfs string) error {
				if err := writeBusyboxRootfs(be.busybox, rootfs); err != nil {
					return err
				}
				return writeSparseFreeFile(filepath.Join(rootfs, "big.bin"), base.size)
			})
			if err != nil {
				b.Fatal(err)
			}
			change := make([]byte, 1<<20)
			for i := range change {
				change[i] = byte(i * 7)
			}
			id := ""
			unix.Sync() // the base's own writeback is not the commit's cost
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%100 == 0 { // stay far from overlayfs's 500-layer limit
					b.StopTimer()
					if id != "" {
						be.DestroySandbox(ctx, id)
					}
					id = newSandbox(b, be, agent.SandboxSpec{Template: "big"})
					b.StartTimer()
				}
				if err := be.WriteFile(ctx, id, fmt.Sprintf("/change-%d", i), change); err != nil {
					b.Fatal(err)
				}
				if _, err := be.CommitLayer(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// writeSparseFreeFile writes size bytes of real (non-sparse) data.
func writeSparseFreeFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	for n := int64(0); n < size; n += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// BenchmarkCopyContext puts a 2,000-file, 50 MB context into a sandbox
// directory, as a COPY stages it: WriteFile of the tarball plus an Exec of
// `tar xf` (what the executor does), against one ExtractTar.
func BenchmarkCopyContext(b *testing.B) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := make([]byte, 25600)
	for i := 0; i < 2000; i++ {
		for j := range data {
			data[j] = byte(i + j)
		}
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data/d%d/f%d.bin", i%20, i), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	tw.Close()
	be := newTestBackend(b)
	ctx := context.Background()
	for _, way := range []string{"WriteFile+tar", "ExtractTar"} {
		b.Run(way, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				id := newSandbox(b, be, agent.SandboxSpec{})
				b.StartTimer()
				if way == "ExtractTar" {
					if _, err := be.ExtractTar(ctx, id, agent.ExtractSpec{Dir: "/tmp/build-files"}, bytes.NewReader(buf.Bytes())); err != nil {
						b.Fatal(err)
					}
				} else {
					if err := be.WriteFile(ctx, id, "/tmp/build-files.tar", buf.Bytes()); err != nil {
						b.Fatal(err)
					}
					code, err := be.Exec(ctx, id, agent.ExecSpec{Cmd: "/bin/sh", Args: []string{"-c", "mkdir -p /tmp/build-files && tar xf /tmp/build-files.tar -C /tmp/build-files"}}, nil, nil, nil)
					if err != nil || code != 0 {
						b.Fatal(code, err)
					}
				}
				b.StopTimer()
				be.DestroySandbox(ctx, id)
				b.StartTimer()
			}
		})
	}
}
