package lang

import "strings"

// Suggest returns the candidate closest to word by optimal string alignment
// distance (Damerau-Levenshtein with adjacent transpositions), compared case
// insensitively, or "" when none is close enough to be a likely typo: at most
// one edit for short words, up to a third of the word's length for long ones,
// never more than three, and never a whole-word replacement.
// Ties go to the earliest candidate, so results are deterministic.
func Suggest(word string, candidates []string) string {
	w := strings.ToLower(word)
	limit := min(3, max(1, len(w)/3))
	best, bestD := "", limit+1
	for _, c := range candidates {
		d := editDistance(w, strings.ToLower(c))
		if d < bestD && d < len(w) && d < len(c) {
			best, bestD = c, d
		}
	}
	return best
}

// DidYouMean formats Suggest's answer as a diagnostic detail, or "".
func DidYouMean(word string, candidates []string) string {
	if s := Suggest(word, candidates); s != "" {
		return "did you mean " + s + "?"
	}
	return ""
}

func editDistance(a, b string) int {
	if a == b {
		return 0
	}
	// Three rolling rows: i-2, i-1, i.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
