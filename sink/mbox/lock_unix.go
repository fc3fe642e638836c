//go:build unix

package mbox

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// errLocked means another process holds the file's lock.
var errLocked = errors.New("locked by another process (another mailferry run?)")

// lockFile takes an exclusive flock on f, waiting up to wait (or until ctx
// ends) for another holder to let go. The lock lasts until f is closed.
func lockFile(ctx context.Context, f *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	delay := 20 * time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return err
		}
		if time.Now().After(deadline) {
			return errLocked
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}
