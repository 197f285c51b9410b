package lang

// LineIndex converts byte offsets of one source into positions. Building it
// costs one pass over the source; each lookup is a binary search, so ranges
// stay cheap even in files with thousands of lines.
//
// A LineIndex remembers the line of its last lookup, so it is not safe for
// concurrent use; each parse and each lint run builds its own.
type LineIndex struct {
	file  string
	size  int
	lines []int // start offset of each line
	hint  int   // index in lines of the last lookup's line
}

// NewLineIndex indexes src (lines end at '\n').
func NewLineIndex(file string, src []byte) *LineIndex {
	li := &LineIndex{file: file, size: len(src), lines: make([]int, 1, 1+len(src)/32)}
	for i, c := range src {
		if c == '\n' {
			li.lines = append(li.lines, i+1)
		}
	}
	return li
}

// Pos returns the position of offset, clamped to the source.
func (li *LineIndex) Pos(offset int) Pos {
	if offset < 0 {
		offset = 0
	}
	if offset > li.size {
		offset = li.size
	}
	// Lookups mostly move forward through the file: try the line of the
	// last lookup and the one after it before searching.
	if h := li.hint; li.lines[h] <= offset {
		if h+1 == len(li.lines) || offset < li.lines[h+1] {
			return Pos{Line: h + 1, Column: offset - li.lines[h] + 1, Offset: offset}
		}
		if h+2 == len(li.lines) || offset < li.lines[h+2] {
			li.hint = h + 1
			return Pos{Line: h + 2, Column: offset - li.lines[h+1] + 1, Offset: offset}
		}
	}
	// The last line starting at or before offset.
	lo, hi := 0, len(li.lines) // lines[lo] <= offset < lines[hi]
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if li.lines[mid] <= offset {
			lo = mid
		} else {
			hi = mid
		}
	}
	li.hint = lo
	return Pos{Line: lo + 1, Column: offset - li.lines[lo] + 1, Offset: offset}
}

// Range returns the half-open range [start, end) in the indexed file.
func (li *LineIndex) Range(start, end int) Range {
	if end < start {
		end = start
	}
	return Range{File: li.file, Start: li.Pos(start), End: li.Pos(end)}
}

// Position returns the position of a byte offset in src: 1-based line and
// byte column, 0-based offset. For many lookups build a LineIndex instead.
func Position(src []byte, offset int) Pos {
	return NewLineIndex("", src).Pos(offset)
}

// Offset is the inverse of Pos: the byte offset of a 1-based line and byte
// column, clamped to the line (its newline excluded) and to the source.
func (li *LineIndex) Offset(line, column int) int {
	if line < 1 {
		return 0
	}
	if line > len(li.lines) {
		return li.size
	}
	start := li.lines[line-1]
	end := li.size
	if line < len(li.lines) {
		end = li.lines[line] - 1
	}
	return min(max(start+column-1, start), end)
}

// Lines is the number of lines (a final line without a newline counts; an
// empty source has one).
func (li *LineIndex) Lines() int { return len(li.lines) }
