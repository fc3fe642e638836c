// Package soak tells the long-running test campaigns (crashes, interrupts,
// network faults) which form to run: the short, seeded one of `make test`,
// or the long one of `make soak` (MAILFERRY_SOAK=1).
package soak

import (
	"os"
	"time"
)

// Enabled reports whether the long form runs.
func Enabled() bool { return os.Getenv("MAILFERRY_SOAK") == "1" }

// Count is short in the short form and long in the long one.
func Count(short, long int) int {
	if Enabled() {
		return long
	}
	return short
}

// Duration is short in the short form and long in the long one.
func Duration(short, long time.Duration) time.Duration {
	if Enabled() {
		return long
	}
	return short
}
