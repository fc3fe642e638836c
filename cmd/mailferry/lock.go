package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mailferry/mailferry/transfer"
)

// lockLocator is implemented by the sinks that keep their lock in the
// store itself (Maildir and mbox).
type lockLocator interface {
	LockPath() string
}

// destinationLockPath is where a copy into ep locks it: in a Maildir or
// mbox archive, the sink's own lock file; for an IMAP account, a file in
// the state directory named after the server (host and port) and the
// user, so every run into that account meets it whatever its --state.
func destinationLockPath(dst transfer.Sink, ep Endpoint, stateDirFlag string) (string, error) {
	if l, ok := dst.(lockLocator); ok {
		return l.LockPath(), nil
	}
	if !ep.IsIMAP() {
		return "", nil
	}
	dir, err := stateDir(stateDirFlag)
	if err != nil {
		return "", usageErrorf("no place for the lock of destination %s: %v", ep, err)
	}
	sum := sha256.Sum256([]byte(strings.ToLower(ep.Host) + "\n" + ep.Port + "\n" + ep.User))
	return filepath.Join(dir, "locks", "imap-"+hex.EncodeToString(sum[:8])+".lock"), nil
}

// lockDestination takes the destination's lock, so a second run into the
// same store refuses at once instead of copying what the first is copying
// too: the state file's lock cannot see a run that uses another one. The
// lock is released by closing what is returned (nil when the destination
// needs none).
func lockDestination(dst transfer.Sink, ep Endpoint, stateDirFlag string) (*transfer.Lock, error) {
	path, err := destinationLockPath(dst, ep, stateDirFlag)
	if err != nil || path == "" {
		return nil, err
	}
	l, err := transfer.AcquireLock(path)
	if errors.Is(err, transfer.ErrInUse) {
		return nil, fmt.Errorf("destination %s is in use by another mailferry run; wait for it to finish "+
			"(two runs into one destination could copy a message twice): %w", ep, err)
	}
	if err != nil {
		return nil, fmt.Errorf("destination %s: %w", ep, err)
	}
	return l, nil
}
