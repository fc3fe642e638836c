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

// statePath picks the journal of a copy: --state when given, else where
// the sink keeps it (inside a Maildir, next to an mbox file), else
// JOB.state in the state directory, named after the job so that a person
// can tell whose it is (jobFileName). A state file an older version named
// by a hash of source and destination, or one named after the job's
// default name before --job-name was given, is taken over (linked to the
// new name, the old name removed), except in a dry run, which reads it
// where it is.
func statePath(cfg copyConfig, sink transfer.Sink, dryRun bool) (string, error) {
	if cfg.StateFile != "" {
		return filepath.Abs(cfg.StateFile)
	}
	if l, ok := sink.(transfer.StateLocator); ok {
		if p := l.DefaultStatePath(); p != "" {
			return p, nil
		}
	}
	dir, err := stateDir(cfg.StateDir)
	if err != nil {
		return "", usageErrorf("no place for the state file: %v; use --state FILE or --state-dir DIR", err)
	}
	path := filepath.Join(dir, jobFileName(cfg.Job)+".state")
	sum := sha256.Sum256([]byte(cfg.Source.String() + "\n" + cfg.Dest.String()))
	earlier := []string{filepath.Join(dir, hex.EncodeToString(sum[:8])+".state")}
	if def, _ := jobNameFrom("", cfg.Source, cfg.Dest); def != cfg.Job {
		earlier = append(earlier, filepath.Join(dir, jobFileName(def)+".state"))
	}
	return adoptStateFile(path, earlier, dryRun), nil
}

// adoptStateFile returns path, first giving it the content of the first
// of earlier that exists when path does not. A link, not a copy or a
// rename: it fails when path exists, so two runs that adopt at once end
// on the one file, and a run of an older version still holding the old
// name holds the same file's lock. In a dry run, which writes nothing,
// the earlier file is returned instead.
func adoptStateFile(path string, earlier []string, dryRun bool) string {
	if _, err := os.Stat(path); err == nil {
		return path
	}
	for _, old := range earlier {
		if _, err := os.Stat(old); err != nil {
			continue
		}
		if dryRun {
			return old
		}
		if err := os.Link(old, path); err == nil {
			_ = os.Remove(old)
		}
		return path
	}
	return path
}

// stateDir is the directory of the state files of IMAP destinations, of
// their locks and of the job index: --state-dir when given, else
// $XDG_STATE_HOME/mailferry, by default ~/.local/state/mailferry.
func stateDir(flag string) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
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
