package agenttest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wrenn.dev/wrenn/agent"
)

// Fake is an in-memory agent.Backend. A sandbox is a map of file contents;
// Exec understands a handful of commands (see exec); layers and templates
// are snapshots of those maps with real sha256 digests. It follows the
// Backend contract's error rules, so handler and executor logic can be
// tested without root, runc or overlayfs.
type Fake struct {
	// ExecHook, when set, runs instead of the built-in commands.
	ExecHook func(ctx context.Context, sandboxID string, spec agent.ExecSpec, stdout, stderr io.Writer) (int, error)

	mu        sync.Mutex
	seq       int
	templates map[string]*fakeTemplate // by id
	sandboxes map[string]*fakeSandbox
	layers    map[string]*fakeLayer
	execs     []agent.ExecSpec
	closed    bool
}

type fakeTemplate struct {
	info  agent.TemplateInfo
	ref   agent.TemplateRef
	files map[string][]byte
}

type fakeSandbox struct {
	info    agent.SandboxInfo
	spec    agent.SandboxSpec
	files   map[string][]byte // the whole view
	changed map[string][]byte // since the last commit
}

type fakeLayer struct {
	info  agent.LayerInfo
	files map[string][]byte // the whole view up to and with this layer
	diff  map[string][]byte
}

var _ agent.Backend = (*Fake)(nil)

// NewFake returns a Fake holding one base template, "minimal", with
// /etc/os-release.
func NewFake() *Fake {
	f := &Fake{
		templates: map[string]*fakeTemplate{},
		sandboxes: map[string]*fakeSandbox{},
		layers:    map[string]*fakeLayer{},
	}
	files := map[string][]byte{"/etc/os-release": []byte("ID=fake\n")}
	f.templates["tmpl-minimal"] = &fakeTemplate{
		info: agent.TemplateInfo{ID: "tmpl-minimal", Name: "minimal", Type: "base",
			Digest: digestOf(files), SizeBytes: sizeOf(files), Created: time.Unix(1700000000, 0).UTC()},
		ref:   agent.TemplateRef{Name: "minimal"},
		files: files,
	}
	return f
}

// Execs returns every ExecSpec run so far.
func (f *Fake) Execs() []agent.ExecSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.execs)
}

// Closed reports whether Close ran.
func (f *Fake) Closed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// Spec returns the spec a live sandbox was created with.
func (f *Fake) Spec(id string) (agent.SandboxSpec, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sb, ok := f.sandboxes[id]
	if !ok {
		return agent.SandboxSpec{}, false
	}
	return sb.spec, true
}

func (f *Fake) nextID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s-%d", prefix, f.seq)
}

func digestOf(files map[string][]byte) string {
	h := sha256.New()
	for _, p := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%d:%s%d:", len(p), p, len(files[p]))
		h.Write(files[p])
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil))
}

func sizeOf(files map[string][]byte) int64 {
	var n int64
	for _, b := range files {
		n += int64(len(b))
	}
	return n
}

func (f *Fake) findTemplate(ref agent.TemplateRef) (*fakeTemplate, error) {
	for _, t := range f.templates {
		if ref.TemplateID != "" && (t.info.ID == ref.TemplateID || t.ref.TemplateID == ref.TemplateID) {
			return t, nil
		}
	}
	name := ref.Name
	if name == "" && ref.TemplateID == "" {
		name = "minimal"
	}
	for _, t := range f.templates {
		if name != "" && t.info.Name == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("template %q: %w", cmp(ref.Name, ref.TemplateID), agent.ErrNotFound)
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (f *Fake) CreateSandbox(ctx context.Context, spec agent.SandboxSpec) (agent.SandboxInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if spec.ID != "" && f.sandboxes[spec.ID] != nil {
		return agent.SandboxInfo{}, fmt.Errorf("sandbox %s already exists: %w", spec.ID, agent.ErrInvalid)
	}
	var files map[string][]byte
	var tmpl, layer string
	if spec.Layer != "" {
		l, ok := f.layers[spec.Layer]
		if !ok {
			return agent.SandboxInfo{}, fmt.Errorf("layer %s: %w", spec.Layer, agent.ErrNotFound)
		}
		files, tmpl, layer = l.files, l.info.Template, l.info.ID
	} else {
		t, err := f.findTemplate(agent.TemplateRef{Name: spec.Template, TemplateID: spec.TemplateID, TeamID: spec.TeamID})
		if err != nil {
			return agent.SandboxInfo{}, err
		}
		files, tmpl = t.files, t.info.ID
	}
	id := spec.ID
	if id == "" {
		id = f.nextID("sb")
	}
	info := agent.SandboxInfo{ID: id, Status: "running", HostIP: "127.0.0.1", Template: tmpl, Layer: layer,
		Created: time.Now(), Metadata: map[string]string{"backend": "fake"}}
	f.sandboxes[id] = &fakeSandbox{info: info, spec: spec, files: maps.Clone(files), changed: map[string][]byte{}}
	return info, nil
}

func (f *Fake) DestroySandbox(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sandboxes, id)
	return nil
}

func (f *Fake) ListSandboxes(ctx context.Context) ([]agent.SandboxInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []agent.SandboxInfo
	for _, id := range slices.Sorted(maps.Keys(f.sandboxes)) {
		out = append(out, f.sandboxes[id].info)
	}
	return out, nil
}

func (f *Fake) sandbox(id string) (*fakeSandbox, error) {
	sb, ok := f.sandboxes[id]
	if !ok {
		return nil, fmt.Errorf("sandbox %s: %w", id, agent.ErrNotFound)
	}
	return sb, nil
}

// cleanPath resolves p inside the sandbox root the way the contract asks:
// relative paths are invalid and ".." may not climb above the root.
func cleanPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%q is not absolute: %w", p, agent.ErrInvalid)
	}
	depth := 0
	for _, part := range strings.Split(p, "/") {
		switch part {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return "", fmt.Errorf("%q: %w", p, agent.ErrPathEscape)
			}
		default:
			depth++
		}
	}
	return path.Clean(p), nil
}

// ExtractTar stores the tar's regular files under spec.Dir, as WriteFile
// would; a path of spec.Absent that is a file or a directory of one is
// ErrExists.
func (f *Fake) ExtractTar(ctx context.Context, id string, spec agent.ExtractSpec, r io.Reader) (int64, error) {
	dir := spec.Dir
	if err := f.checkAbsent(id, spec.Absent); err != nil {
		return 0, err
	}
	tr := tar.NewReader(r)
	var n int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("reading tar: %w: %w", err, agent.ErrInvalid)
		}
		n++
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			return n, err
		}
		if err := f.WriteFile(ctx, id, path.Join("/", dir, hdr.Name), content); err != nil {
			return n, err
		}
	}
}

func (f *Fake) WriteFile(ctx context.Context, id, p string, content []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	sb, err := f.sandbox(id)
	if err != nil {
		return err
	}
	p, err = cleanPath(p)
	if err != nil {
		return err
	}
	sb.files[p] = bytes.Clone(content)
	sb.changed[p] = bytes.Clone(content)
	return nil
}

func (f *Fake) ReadFile(ctx context.Context, id, p string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sb, err := f.sandbox(id)
	if err != nil {
		return nil, err
	}
	p, err = cleanPath(p)
	if err != nil {
		return nil, err
	}
	b, ok := sb.files[p]
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, agent.ErrNotFound)
	}
	return bytes.Clone(b), nil
}

// Exec runs the built-in commands: true, false, exit N, echo ARGS,
// stderr ARGS (echo to stderr), cat PATH, sleep SECONDS (honours the
// timeout with exit code 124 and the context), write PATH TEXT.
func (f *Fake) Exec(ctx context.Context, id string, spec agent.ExecSpec, stdout, stderr io.Writer, started func(pid int)) (int, error) {
	f.mu.Lock()
	_, err := f.sandbox(id)
	f.execs = append(f.execs, spec)
	pid := 1000 + len(f.execs)
	hook := f.ExecHook
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if started != nil {
		started(pid)
	}
	if hook != nil {
		return hook(ctx, id, spec, stdout, stderr)
	}
	args := spec.Args
	switch spec.Cmd {
	case "true":
		return 0, nil
	case "false":
		return 1, nil
	case "exit":
		if len(args) != 1 {
			return 2, nil
		}
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return 2, nil
		}
		return n, nil
	case "echo":
		_, err := fmt.Fprintln(stdout, strings.Join(args, " "))
		return 0, err
	case "stderr":
		_, err := fmt.Fprintln(stderr, strings.Join(args, " "))
		return 0, err
	case "cat":
		for _, p := range args {
			b, err := f.ReadFile(ctx, id, p)
			if err != nil {
				fmt.Fprintf(stderr, "cat: %v\n", err)
				return 1, nil
			}
			if _, err := stdout.Write(b); err != nil {
				return 1, err
			}
		}
		return 0, nil
	case "write":
		if len(args) != 2 {
			return 2, nil
		}
		if err := f.WriteFile(ctx, id, args[0], []byte(args[1])); err != nil {
			fmt.Fprintf(stderr, "write: %v\n", err)
			return 1, nil
		}
		return 0, nil
	case "sleep":
		d := time.Second
		if len(args) == 1 {
			s, err := strconv.ParseFloat(args[0], 64)
			if err != nil {
				return 2, nil
			}
			d = time.Duration(s * float64(time.Second))
		}
		var timeout <-chan time.Time
		if spec.Timeout > 0 {
			timeout = time.After(spec.Timeout)
		}
		select {
		case <-time.After(d):
			return 0, nil
		case <-timeout:
			return 124, nil
		case <-ctx.Done():
			return 137, ctx.Err()
		}
	}
	fmt.Fprintf(stderr, "%s: command not found\n", spec.Cmd)
	return 127, nil
}

func (f *Fake) storeTemplate(id string, ref agent.TemplateRef, kind string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sb, err := f.sandbox(id)
	if err != nil {
		return 0, err
	}
	delete(f.sandboxes, id)
	tid := ref.TemplateID
	if tid == "" {
		tid = f.nextID("tmpl")
	}
	files := sb.files
	f.templates[tid] = &fakeTemplate{
		info: agent.TemplateInfo{ID: tid, Name: ref.Name, Type: kind, Digest: digestOf(files),
			SizeBytes: sizeOf(files), Created: time.Now()},
		ref:   ref,
		files: files,
	}
	return sizeOf(files), nil
}

func (f *Fake) CreateSnapshot(ctx context.Context, id string, ref agent.TemplateRef) (int64, error) {
	return f.storeTemplate(id, ref, "snapshot")
}

func (f *Fake) FlattenRootfs(ctx context.Context, id string, ref agent.TemplateRef) (int64, error) {
	return f.storeTemplate(id, ref, "snapshot")
}

func (f *Fake) DeleteSnapshot(ctx context.Context, ref agent.TemplateRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.findTemplate(ref)
	if err != nil {
		return err
	}
	if t.info.Type == "base" {
		return fmt.Errorf("template %s is a base, not a snapshot: %w", t.info.Name, agent.ErrInvalid)
	}
	delete(f.templates, t.info.ID)
	return nil
}

func (f *Fake) CommitLayer(ctx context.Context, id string) (agent.LayerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sb, err := f.sandbox(id)
	if err != nil {
		return agent.LayerInfo{}, err
	}
	depth := 1
	if sb.info.Layer != "" {
		depth = f.layers[sb.info.Layer].info.Depth + 1
	}
	l := &fakeLayer{
		info: agent.LayerInfo{ID: f.nextID("layer"), Parent: sb.info.Layer, Template: sb.info.Template,
			Digest: digestOf(sb.changed), SizeBytes: sizeOf(sb.changed), Depth: depth, Created: time.Now()},
		files: maps.Clone(sb.files),
		diff:  sb.changed,
	}
	f.layers[l.info.ID] = l
	sb.info.Layer = l.info.ID
	sb.changed = map[string][]byte{}
	return l.info, nil
}

func (f *Fake) Layer(ctx context.Context, layerID string) (agent.LayerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.layers[layerID]
	if !ok {
		return agent.LayerInfo{}, fmt.Errorf("layer %s: %w", layerID, agent.ErrNotFound)
	}
	return l.info, nil
}

func (f *Fake) Template(ctx context.Context, ref agent.TemplateRef) (agent.TemplateInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.findTemplate(ref)
	if err != nil {
		return agent.TemplateInfo{}, err
	}
	return t.info, nil
}

func (f *Fake) ListLayers(ctx context.Context) ([]agent.LayerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []agent.LayerInfo
	for _, id := range slices.Sorted(maps.Keys(f.layers)) {
		out = append(out, f.layers[id].info)
	}
	return out, nil
}

func (f *Fake) ListTemplates(ctx context.Context) ([]agent.TemplateInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []agent.TemplateInfo
	for _, id := range slices.Sorted(maps.Keys(f.templates)) {
		out = append(out, f.templates[id].info)
	}
	return out, nil
}

func (f *Fake) DeleteLayer(ctx context.Context, layerID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.layers[layerID]; !ok {
		return fmt.Errorf("layer %s: %w", layerID, agent.ErrNotFound)
	}
	for _, sb := range f.sandboxes {
		if sb.info.Layer == layerID {
			return fmt.Errorf("layer %s: sandbox %s runs on it: %w", layerID, sb.info.ID, agent.ErrInUse)
		}
	}
	for _, l := range f.layers {
		if l.info.Parent == layerID {
			return fmt.Errorf("layer %s: layer %s is built on it: %w", layerID, l.info.ID, agent.ErrInUse)
		}
	}
	delete(f.layers, layerID)
	return nil
}

func (f *Fake) ExportLayer(ctx context.Context, layerID string, w io.Writer) error {
	f.mu.Lock()
	l, ok := f.layers[layerID]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("layer %s: %w", layerID, agent.ErrNotFound)
	}
	tw := tar.NewWriter(w)
	for _, p := range slices.Sorted(maps.Keys(l.diff)) {
		b := l.diff[p]
		if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(p, "/"), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	return tw.Close()
}

func (f *Fake) ImportLayer(ctx context.Context, parent, digest string, r io.Reader) (agent.LayerInfo, error) {
	diff := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return agent.LayerInfo{}, fmt.Errorf("layer tar: %v: %w", err, agent.ErrInvalid)
		}
		p, err := cleanPath("/" + h.Name)
		if err != nil {
			return agent.LayerInfo{}, err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return agent.LayerInfo{}, err
		}
		diff[p] = b
	}
	if got := digestOf(diff); got != digest {
		return agent.LayerInfo{}, fmt.Errorf("layer content has digest %s, want %s: %w", got, digest, agent.ErrInvalid)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var files map[string][]byte
	info := agent.LayerInfo{Parent: parent, Digest: digest, SizeBytes: sizeOf(diff), Depth: 1, Created: time.Now()}
	if parent != "" {
		p, ok := f.layers[parent]
		if !ok {
			return agent.LayerInfo{}, fmt.Errorf("parent layer %s: %w", parent, agent.ErrNotFound)
		}
		files = maps.Clone(p.files)
		info.Template, info.Depth = p.info.Template, p.info.Depth+1
	} else {
		t := f.templates["tmpl-minimal"]
		files, info.Template = maps.Clone(t.files), t.info.ID
	}
	maps.Copy(files, diff)
	info.ID = f.nextID("layer")
	f.layers[info.ID] = &fakeLayer{info: info, files: files, diff: diff}
	return info, nil
}

func (f *Fake) Close(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.sandboxes)
	f.closed = true
	return nil
}

// checkAbsent is ExtractSpec.Absent on the fake's flat file map: a path
// exists when it is a file or a directory holding one.
func (f *Fake) checkAbsent(id string, absent []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	sb, err := f.sandbox(id)
	if err != nil {
		return err
	}
	for _, a := range absent {
		p, err := cleanPath(a)
		if err != nil {
			return err
		}
		for name := range sb.files {
			if name == p || strings.HasPrefix(name, strings.TrimSuffix(p, "/")+"/") {
				return fmt.Errorf("%s: %w", a, agent.ErrExists)
			}
		}
	}
	return nil
}
