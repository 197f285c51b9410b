package archtest

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "wrenn.dev/wrenn"

// allowed maps each top-level package tree to the wrenn trees it may import.
// A tree is the first path element under the module ("lang" covers lang/...).
var allowed = map[string][]string{
	"lang":     {},
	"compiler": {"lang"},
	"cache":    {"compiler", "lang"},
	"agent":    {"proto"},
	"proto":    {},
	"executor": {"compiler", "cache", "lang", "proto"},
	"service":  {"executor", "compiler", "cache", "lang", "proto"},
	"lsp":      {"lang", "compiler", "cache"},
	"cmd":      {"*"},
	"internal": {"*"},
	"bench":    {"*"},
}

func tree(pkg string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	first, _, _ := strings.Cut(rest, "/")
	return first
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,TestImports,XTestImports", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		from := tree(p.ImportPath)
		ok, known := allowed[from]
		if !known {
			t.Errorf("package %s is in tree %q, which has no rule in allowed: add one", p.ImportPath, from)
			continue
		}
		checked++
		for _, imp := range p.Imports { // test files may reach further (e2e tests)
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := tree(imp)
			if to == from || contains(ok, "*") || contains(ok, to) {
				continue
			}
			t.Errorf("%s imports %s: %q may import only %v", p.ImportPath, imp, from, ok)
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages; go list output was not understood", checked)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
