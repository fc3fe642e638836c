//go:build unix

package transfer

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// syncDir fsyncs a directory so a newly created file in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// errWouldBlock reports that another open file description holds the lock.
var errWouldBlock = errors.New("lock held elsewhere")

// lockFile takes an exclusive, non-blocking flock on f. Closing f releases it.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errWouldBlock
		default:
			return err
		}
	}
}

// fileID names the file st describes by device and inode.
func fileID(st os.FileInfo) string {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d:%d", sys.Dev, sys.Ino)
}
