package transfer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrInUse is returned by AcquireLock when another process holds the lock.
var ErrInUse = errors.New("in use by another mailferry run")

// Lock is an exclusive lock on a store, held through an flock on a lock
// file for as long as the process keeps it: a run killed with SIGKILL
// releases it with its last file descriptor, so no stale lock outlives a
// crash. The file itself stays (removing it would let a third run lock a
// new file while the second still holds the old one).
type Lock struct {
	f *os.File
}

// AcquireLock takes the lock file at path, creating it and its directory
// (0700, the file 0600). It does not wait: when another process holds it,
// the error wraps ErrInUse and says which process, as far as the file
// tells.
func AcquireLock(path string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock file %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, fmt.Errorf("lock file %s%s: %w", path, holder(path), ErrInUse)
		}
		return nil, fmt.Errorf("lock file %s: lock: %w", path, err)
	}
	// The holder's pid, for the message a second run prints; the flock,
	// not this content, is the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// holder names the process that wrote the lock file, or "".
func holder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return ""
	}
	return fmt.Sprintf(" (held by process %d)", pid)
}

// Close releases the lock. A nil Lock is fine.
func (l *Lock) Close() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}
