// Package spelling finds what a mistyped name was meant to be: the one
// rule behind every "did you mean …?" mailferry prints, for options,
// endpoint schemes and the keys of a jobs file.
package spelling

// Distance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent letters.
func Distance(a, b string) int {
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

// Closest returns the name of known nearest to word, when it is less than
// within away (a typo, not another word), or "". The first of equally
// near names wins.
func Closest(word string, known []string, within int) string {
	best, bestD := "", within
	for _, k := range known {
		if d := Distance(word, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}
