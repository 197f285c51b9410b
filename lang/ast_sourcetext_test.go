package lang

import "testing"

func TestSourceText(t *testing.T) {
	src := "FROM base\nRUN echo \\\n  hi\n"
	f, diags := Parse("Wrennfile", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	run := f.Stages[0].Instructions[1].Node()
	if got := f.SourceText(run.Range); got != "RUN echo \\\n  hi" {
		t.Errorf("SourceText = %q", got)
	}
	if got := f.SourceText(Range{Start: Pos{Offset: 5}, End: Pos{Offset: 99}}); got != "" {
		t.Errorf("out of range: %q", got)
	}
	if got := (&File{Source: []byte(src)}).SourceText(run.Range); got != "" {
		t.Errorf("file the parser did not make: %q", got)
	}
}
