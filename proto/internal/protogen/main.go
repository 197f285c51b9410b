// Command protogen regenerates the Go and connect-go code for every .proto
// file under proto/. It runs protoc with the plugin versions pinned by the
// tool directives in go.mod (resolved through `go tool -n`), so that the
// output depends only on the checked-in sources and go.mod.
//
// Usage (from proto/, as `go generate ./proto` runs it):
//
//	go run ./internal/protogen [-out DIR]
//
// -out writes somewhere else than proto/ (the staleness test compares).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	out := flag.String("out", ".", "directory to write the generated code under")
	src := flag.String("src", ".", "the proto/ directory holding the .proto files")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		fmt.Fprintf(os.Stderr, "protogen: %v\n", err)
		os.Exit(1)
	}
}

func run(src, out string) error {
	files, err := protoFiles(src)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no .proto files under %s", src)
	}
	goPlugin, err := toolPath("protoc-gen-go")
	if err != nil {
		return err
	}
	connectPlugin, err := toolPath("protoc-gen-connect-go")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	args := []string{
		"--plugin=protoc-gen-go=" + goPlugin,
		"--plugin=protoc-gen-connect-go=" + connectPlugin,
		"-I", src,
		"--go_out=" + out, "--go_opt=paths=source_relative",
		"--connect-go_out=" + out, "--connect-go_opt=paths=source_relative",
	}
	args = append(args, files...)
	cmd := exec.Command("protoc", args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("protoc %s: %w (is protobuf-compiler installed?)", strings.Join(files, " "), err)
	}
	return nil
}

// protoFiles lists the .proto files under src, relative to it, sorted so
// that protoc sees them in a stable order.
func protoFiles(src string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != src {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".proto") {
			rel, err := filepath.Rel(src, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// toolPath builds (if needed) the go.mod-pinned tool and returns its path.
func toolPath(name string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command("go", "tool", "-n", name)
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool -n %s: %v: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(b)), nil
}
