package cache

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemStore is a Store in memory, for unit tests of the store's users. It
// passes the same conformance suite (cachetest) as BadgerStore.
type MemStore struct {
	mu      sync.Mutex
	closed  bool
	records map[string]Record
	refs    map[string]Ref
	leases  map[string]Lease
	stat    map[StatKey]string
	bases   map[[2]string]Base
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore {
	return &MemStore{records: map[string]Record{}, refs: map[string]Ref{}, leases: map[string]Lease{}, stat: map[StatKey]string{}, bases: map[[2]string]Base{}}
}

func (m *MemStore) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// clone copies the slices of r so callers cannot change stored state.
func clone(r Record, preimage bool) Record {
	r.Parents = slices.Clone(r.Parents)
	if preimage {
		r.Preimage = slices.Clone(r.Preimage)
	} else {
		r.Preimage = nil
	}
	return r
}

func (m *MemStore) Get(ctx context.Context, key string) (Record, error) {
	if err := m.lock(ctx); err != nil {
		return Record{}, err
	}
	defer m.mu.Unlock()
	r, ok := m.records[key]
	if !ok {
		return Record{}, ErrNotFound
	}
	return clone(r, true), nil
}

func (m *MemStore) Lookup(ctx context.Context, keys []string) (map[string]Record, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := make(map[string]Record, len(keys))
	for _, k := range keys {
		if r, ok := m.records[k]; ok {
			out[k] = clone(r, true)
		}
	}
	return out, nil
}

func (m *MemStore) Put(ctx context.Context, rec Record) error {
	if err := validateRecord(&rec); err != nil {
		return err
	}
	fillTimes(&rec, time.Now())
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if len(rec.Preimage) == 0 {
		rec.Preimage = nil
	}
	m.records[rec.Key] = clone(rec, true)
	return nil
}

func (m *MemStore) Delete(ctx context.Context, key string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	delete(m.records, key)
	return nil
}

func (m *MemStore) Touch(ctx context.Context, keys []string, t time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	t = t.UTC()
	for _, k := range keys {
		r, ok := m.records[k]
		if !ok {
			continue
		}
		if t.After(r.LastUsed) {
			r.LastUsed = t
		}
		r.Hits++
		m.records[k] = r
	}
	return nil
}

func (m *MemStore) Records(ctx context.Context, preimages bool, fn func(Record) error) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	keys := make([]string, 0, len(m.records))
	for k := range m.records {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	recs := make([]Record, len(keys))
	for i, k := range keys {
		recs[i] = clone(m.records[k], preimages)
	}
	m.mu.Unlock()
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (m *MemStore) KeysWithPrefix(ctx context.Context, prefix string, limit int) ([]string, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var keys []string
	for k := range m.records {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	return keys, nil
}

func (m *MemStore) Children(ctx context.Context, parent string) ([]string, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var keys []string
	for k, r := range m.records {
		if slices.Contains(r.Parents, parent) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

func (m *MemStore) PutRef(ctx context.Context, ref Ref) error {
	if ref.Name == "" {
		return errors.New("ref has no name")
	}
	if ref.Created.IsZero() {
		ref.Created = time.Now()
	}
	ref.Created = ref.Created.UTC()
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	ref.Keys = slices.Clone(ref.Keys)
	m.refs[ref.Name] = ref
	return nil
}

func (m *MemStore) GetRef(ctx context.Context, name string) (Ref, error) {
	if err := m.lock(ctx); err != nil {
		return Ref{}, err
	}
	defer m.mu.Unlock()
	r, ok := m.refs[name]
	if !ok {
		return Ref{}, ErrNotFound
	}
	return r, nil
}

func (m *MemStore) DeleteRef(ctx context.Context, name string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	delete(m.refs, name)
	return nil
}

func (m *MemStore) Refs(ctx context.Context) ([]Ref, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var refs []Ref
	for _, r := range m.refs {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name < refs[j].Name })
	return refs, nil
}

func (m *MemStore) Hold(ctx context.Context, l Lease) error {
	if l.ID == "" {
		return errors.New("lease has no id")
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	l.Keys, l.Layers = slices.Clone(l.Keys), slices.Clone(l.Layers)
	m.leases[l.ID] = l
	return nil
}

func (m *MemStore) Release(ctx context.Context, id string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	delete(m.leases, id)
	return nil
}

func (m *MemStore) Leases(ctx context.Context, now time.Time) ([]Lease, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var live []Lease
	for id, l := range m.leases {
		if leaseLive(&l, now) {
			live = append(live, l)
		} else {
			delete(m.leases, id)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].ID < live[j].ID })
	return live, nil
}

func (m *MemStore) PutBase(ctx context.Context, b Base) error {
	if b.Template == "" {
		return errors.New("base has no template name")
	}
	if b.Updated.IsZero() {
		b.Updated = time.Now()
	}
	b.Updated = b.Updated.UTC()
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	b.Env = maps.Clone(b.Env)
	m.bases[[2]string{b.Agent, b.Template}] = b
	return nil
}

func (m *MemStore) GetBase(ctx context.Context, agent, template string) (Base, error) {
	if err := m.lock(ctx); err != nil {
		return Base{}, err
	}
	defer m.mu.Unlock()
	b, ok := m.bases[[2]string{agent, template}]
	if !ok {
		return Base{}, ErrNotFound
	}
	b.Env = maps.Clone(b.Env)
	return b, nil
}

func (m *MemStore) Bases(ctx context.Context) ([]Base, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var out []Base
	for _, b := range m.bases {
		b.Env = maps.Clone(b.Env)
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Agent != out[j].Agent {
			return out[i].Agent < out[j].Agent
		}
		return out[i].Template < out[j].Template
	})
	return out, nil
}

func (m *MemStore) StatGet(ctx context.Context, k StatKey) (string, bool, error) {
	if err := m.lock(ctx); err != nil {
		return "", false, err
	}
	defer m.mu.Unlock()
	d, ok := m.stat[k]
	return d, ok, nil
}

func (m *MemStore) StatPut(ctx context.Context, k StatKey, digest string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.stat[k] = digest
	return nil
}

func (m *MemStore) StatPutAll(ctx context.Context, entries map[StatKey]string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	for k, d := range entries {
		m.stat[k] = d
	}
	return nil
}

func (m *MemStore) StatScan(ctx context.Context, dir string, fn func(StatKey, string) error) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	dir = strings.TrimSuffix(dir, "/")
	var keys []StatKey
	var digests []string
	for k, d := range m.stat {
		if k.Path == dir || strings.HasPrefix(k.Path, dir+"/") {
			keys, digests = append(keys, k), append(digests, d)
		}
	}
	m.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, digests[i]); err != nil {
			return err
		}
	}
	return nil
}

func (m *MemStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
