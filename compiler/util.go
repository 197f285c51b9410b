package compiler

import (
	"maps"
	"sort"
)

func sortStrings(s []string) { sort.Strings(s) }

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// cloneOrNew copies m (maps.Clone copies the table whole, much faster than
// inserting each entry), never returning nil.
func cloneOrNew(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}
