package policy

import "strings"

// editDistance is the optimal-string-alignment distance between a and b, in
// bytes: Levenshtein plus adjacent transposition, the commonest typo. Inputs
// are short identifiers, so the quadratic cost does not matter; it is capped
// to keep a hostile 1 MB key from costing a 10^12-step check.
func editDistance(a, b string) int {
	const maxLen = 64
	if len(a) > maxLen || len(b) > maxLen {
		if a == b {
			return 0
		}
		return maxLen
	}
	// d[i][j] for prefixes a[:i], b[:j]
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// closest returns the candidate nearest to s (case-insensitively) if it is
// close enough to be a plausible typo: at most 2 edits, and fewer edits than
// half the word so that "tcp" does not suggest "udp".
func closest(s string, candidates []string) (string, bool) {
	ls := strings.ToLower(s)
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(ls, strings.ToLower(c))
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > 2 || bestD*2 >= len(best) {
		return "", false
	}
	return best, true
}

// hintFor builds the usual hint for a value outside a closed set: a "did you
// mean" when one candidate is close, else the list when it is short.
func hintFor(s string, candidates []string) string {
	if c, ok := closest(s, candidates); ok {
		return "did you mean " + c + "?"
	}
	if len(candidates) > 0 && len(candidates) <= 12 {
		return "expected one of " + strings.Join(candidates, ", ")
	}
	return ""
}
