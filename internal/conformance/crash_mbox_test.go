package conformance

import "testing"

func TestCrashMaildirToMboxDir(t *testing.T) { crashTest(t, MboxDir()) }
