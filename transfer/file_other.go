//go:build !unix

package transfer

import (
	"errors"
	"os"
)

// errWouldBlock reports that another open file description holds the lock.
var errWouldBlock = errors.New("lock held elsewhere")

// lockFile does nothing on systems without flock: there, the user must not
// start two runs on one state file at once.
func lockFile(f *os.File) error { return nil }

// syncDir does nothing where directories cannot be synced.
func syncDir(dir string) error { return nil }

// fileID cannot name files here: no identity, so no same-folder check.
func fileID(os.FileInfo) string { return "" }
