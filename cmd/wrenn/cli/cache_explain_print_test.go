package cli

import (
	"bytes"
	"testing"

	"wrenn.dev/wrenn/cache"
)

func TestWriteExplainText(t *testing.T) {
	ex := &cache.Explanation{LayerSteps: 5, Cached: 2, Reason: cache.ReasonFile,
		FirstMiss:    &cache.MissStep{Step: 3, Line: 9, Text: "COPY app/ /srv/"},
		Message:      "line 9 COPY app/ /srv/: file app/main.py changed (sha256:ab12cd34… -> sha256:cd34ef56…)",
		ComparedWith: &cache.Compared{Key: "sha256:0123456789abcdef", Text: "COPY app/ /srv/", Line: 9, How: "same parent"},
		Diffs:        []cache.FieldDiff{{Field: "inputs[app/main.py].digest", Old: "sha256:ab12", New: "sha256:cd34"}}}
	var b bytes.Buffer
	if err := writeExplain(&b, ex, "text"); err != nil {
		t.Fatal(err)
	}
	want := `line 9 COPY app/ /srv/: file app/main.py changed (sha256:ab12cd34… -> sha256:cd34ef56…)
  2 of 5 layer steps cached before it; it and the steps after it would run
  compared with 0123456789ab (same parent line 9: COPY app/ /srv/)
    inputs[app/main.py].digest: sha256:ab12 -> sha256:cd34
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	_ = writeExplain(&b, &cache.Explanation{Reason: cache.ReasonAllCached, Message: "all 3 layer steps are cached; a build would run none of them", LayerSteps: 3, Cached: 3}, "text")
	if b.String() != "all 3 layer steps are cached; a build would run none of them\n" {
		t.Errorf("all cached: %q", b.String())
	}
}
