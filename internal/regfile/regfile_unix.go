//go:build unix

package regfile

import (
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// CreateExclusive creates path for writing; it fails when path exists.
func CreateExclusive(path string, perm fs.FileMode) (*os.File, error) {
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, uint32(perm.Perm()))
		return err
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// OpenIn opens the file name (one path element) of the open directory dir
// for reading, without following a symbolic link: a link fails with
// ELOOP (syscall.ELOOP), which the caller resolves its own way. The file's
// Name is dir's name joined with name.
func OpenIn(dir *os.File, name string) (*os.File, error) {
	path := filepath.Join(dir.Name(), name)
	dfd := int(dir.Fd())
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// Rename renames oldpath to newpath, replacing a file of that name.
func Rename(oldpath, newpath string) error {
	if err := ignoringEINTR(func() error { return unix.Rename(oldpath, newpath) }); err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

// ignoringEINTR repeats a system call interrupted by a signal, as the os
// package does.
func ignoringEINTR(call func() error) error {
	for {
		if err := call(); err != unix.EINTR {
			return err
		}
	}
}
