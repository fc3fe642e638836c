//go:build !unix

package regfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// CreateExclusive creates path for writing; it fails when path exists.
func CreateExclusive(path string, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
}

// OpenIn opens the file name of the open directory dir for reading; a
// symbolic link fails with ELOOP, as on Unix.
func OpenIn(dir *os.File, name string) (*os.File, error) {
	path := filepath.Join(dir.Name(), name)
	info, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		return nil, &os.PathError{Op: "open", Path: path, Err: syscall.ELOOP}
	}
	return os.Open(path)
}

// Rename renames oldpath to newpath.
func Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
