package main

import (
	"os"
	"runtime/debug"
)

// defaultMemoryLimit is the soft limit on the memory the Go runtime holds
// (runtime/debug.SetMemoryLimit) when GOMEMLIMIT does not set one. With the
// default GOGC=100 alone the heap may grow to twice what is live before a
// collection, so a run over a large mailbox, whose state index and plan
// are live at once, would take twice the memory it uses (a folder of
// 100,000 messages: 79 MiB of RSS without the limit, 63 MiB with one of 48
// MiB). Under the limit the collector runs as soon as the heap reaches it
// instead. A run whose live heap stays below half of it collects exactly
// as often as without it; one above trades some CPU for staying near the
// limit (the runtime caps the collector at about half the CPU, so a run
// whose live heap exceeds the limit slows down but never stalls). The
// binary's own pages, about 10 MiB of RSS, come on top.
const defaultMemoryLimit = 40 << 20

// applyMemoryLimit sets defaultMemoryLimit unless the environment chooses
// a limit (GOMEMLIMIT, which "off" disables).
func applyMemoryLimit() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
