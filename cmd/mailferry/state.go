package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mailferry/mailferry/transfer"
)

// statePath picks the journal of a copy: --state when given, else where the
// sink keeps it (inside a Maildir, next to an mbox file), else a file named
// after the source and destination under $XDG_STATE_HOME/mailferry.
func statePath(flag string, sink transfer.Sink, src, dst Endpoint) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	if l, ok := sink.(transfer.StateLocator); ok {
		if p := l.DefaultStatePath(); p != "" {
			return p, nil
		}
	}
	dir, err := stateDir()
	if err != nil {
		return "", usageErrorf("no place for the state file: %v; use --state FILE", err)
	}
	sum := sha256.Sum256([]byte(src.String() + "\n" + dst.String()))
	return filepath.Join(dir, hex.EncodeToString(sum[:8])+".state"), nil
}

// stateDir is $XDG_STATE_HOME/mailferry, by default ~/.local/state/mailferry:
// the state files of IMAP destinations and their locks.
func stateDir() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", errors.New("$HOME is not set")
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "mailferry"), nil
}

// openState opens the journal at path. In a dry run a missing state file
// is not created (the plan then relies on the destination's fingerprints)
// and nil is returned.
func openState(path string, dryRun bool) (*transfer.Journal, error) {
	if dryRun {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}
	j, err := transfer.OpenJournal(path)
	if errors.Is(err, transfer.ErrLocked) {
		return nil, fmt.Errorf("state file %s is in use by another mailferry run; wait for it to finish "+
			"(two runs on one state file could copy a message twice): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w (use --state FILE to put it elsewhere)", path, err)
	}
	return j, nil
}
