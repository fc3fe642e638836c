//go:build !unix

package maildir

import "os"

// holdFileLock does nothing where there is no flock; a lock left by a
// killed run is then taken only once it is keywordsLockStale old.
func holdFileLock(*os.File) error { return nil }

// orphanedLock cannot tell without flock, so it never says so.
func orphanedLock(string) bool { return false }
