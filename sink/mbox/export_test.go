package mbox

import "time"

// SetLockWait shortens the wait for another process's lock; the returned
// function restores it.
func SetLockWait(d time.Duration) func() {
	old := lockWait
	lockWait = d
	return func() { lockWait = old }
}
