package conformance

import "testing"

func TestCrashMaildirToMboxDir(t *testing.T) {
	t.Parallel()
	crashTest(t, MboxDir())
}
