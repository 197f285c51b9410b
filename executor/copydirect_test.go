package executor

import "testing"

// lookupID finds a name's id in /etc/passwd or /etc/group as chown does,
// and nothing for a missing name or a malformed line.
func TestLookupID(t *testing.T) {
	const passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nbad:x:notanumber:1\n\nshort:x\n"
	for _, tc := range []struct {
		name string
		id   int
		ok   bool
	}{
		{"root", 0, true},
		{"app", 1000, true},
		{"ap", 0, false},
		{"bad", 0, false},
		{"short", 0, false},
		{"1000", 0, false}, // a number is the caller's fallback, not a name
	} {
		id, ok := lookupID([]byte(passwd), tc.name)
		if id != tc.id || ok != tc.ok {
			t.Errorf("lookupID(%q) = %d, %v; want %d, %v", tc.name, id, ok, tc.id, tc.ok)
		}
	}
}
