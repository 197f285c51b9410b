package format_test

import "testing"

// FuzzFormat checks, on any input, that Source never panics, refuses only
// files with parse errors, and otherwise keeps the meaning and is
// idempotent (checkInvariants). Seeds: every corpus Wrennfile.
func FuzzFormat(f *testing.F) {
	for _, c := range corpus(f) {
		f.Add(c.src)
	}
	f.Add([]byte("run  echo hi   \n\n\n\n# c\n"))
	f.Add([]byte("RUN --user=root --timeout=5m \\\n  echo a \\\n  && echo b\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		checkInvariants(t, "Wrennfile", src)
	})
}
