package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// TestMemoryLimitUnlessGOMEMLIMIT: without GOMEMLIMIT a run gets the
// default soft limit; with it (even "off"), the runtime's own reading of
// the variable stands.
func TestMemoryLimitUnlessGOMEMLIMIT(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })

	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	debug.SetMemoryLimit(math.MaxInt64)
	applyMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != defaultMemoryLimit {
		t.Errorf("without GOMEMLIMIT the limit is %d; want %d", got, defaultMemoryLimit)
	}

	for _, v := range []string{"off", "200MiB"} {
		t.Setenv("GOMEMLIMIT", v)
		debug.SetMemoryLimit(math.MaxInt64)
		applyMemoryLimit()
		if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
			t.Errorf("with GOMEMLIMIT=%s the limit was changed to %d", v, got)
		}
	}
}
