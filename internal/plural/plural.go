// Package plural writes counts as people read them: "1 message",
// "2 messages", "0 messages". Every count mailferry prints (summaries,
// progress lines, warnings) goes through it, so none says "message(s)".
package plural

import "strconv"

// Count is n followed by noun, with an "s" unless n is 1.
func Count(n int, noun string) string { return CountOf(n, noun, noun+"s") }

// CountOf is n followed by one when n is 1 and by many otherwise, for
// nouns whose plural is not noun+"s" ("copy", "copies").
func CountOf(n int, one, many string) string {
	return strconv.Itoa(n) + " " + Noun(n, one, many)
}

// Noun is one when n is 1 and many otherwise, for a count printed apart
// from its noun ("0 flag and 1 date difference").
func Noun(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
