//go:build unix

package maildir

import (
	"os"
	"syscall"
)

// holdFileLock takes an flock on the dot-lock file mailferry just created,
// so another process can tell a live writer from one that was killed.
func holdFileLock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// orphanedLock reports whether nobody holds an flock on the dot-lock file
// at path: its writer is gone, or it was not mailferry.
func orphanedLock(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
