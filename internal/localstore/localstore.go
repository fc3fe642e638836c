// Package localstore reads the files of a local mail store (a Maildir, a
// directory of mbox files) through an os.Root, so that a symbolic link
// inside the store cannot make mailferry read a file outside it. A store
// is often read by another user than the one who owns it (root backing up
// a user's Maildir), and that user could otherwise plant a link to any file
// and get it copied as a message.
//
// Links that stay inside the store are followed. A link that leads out of
// it, loops or points at nothing is a *LinkError: the sources report it as
// a warning naming the file and go on, so one bad link never stops a
// listing.
package localstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// LinkError is a symbolic link that is not followed.
type LinkError struct {
	Path string // as the caller named it (absolute)
	Why  string // "leads out of the store", "is part of a loop", "points at nothing"
	Err  error
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("%s is a symbolic link that %s; not followed", e.Path, e.Why)
}

func (e *LinkError) Unwrap() error { return e.Err }

// Stat returns what rel (a path relative to root) names, following symbolic
// links only while they stay inside root. When rel itself is a link that
// cannot be followed the error is a *LinkError; other errors are returned
// as they are.
func Stat(root *os.Root, rel string) (fs.FileInfo, error) {
	info, err := root.Stat(rel)
	if err == nil {
		return info, nil
	}
	return nil, linkError(root, rel, err)
}

// Open opens rel for reading with the same rules as Stat.
func Open(root *os.Root, rel string) (*os.File, error) {
	f, err := root.Open(rel)
	if err == nil {
		return f, nil
	}
	return nil, linkError(root, rel, err)
}

// linkError turns err, which resolving rel gave, into a *LinkError when
// rel is a symbolic link.
func linkError(root *os.Root, rel string, err error) error {
	li, lerr := root.Lstat(rel)
	if lerr != nil || li.Mode()&fs.ModeSymlink == 0 {
		return err
	}
	why := "leads out of the store"
	switch {
	case errors.Is(err, syscall.ELOOP):
		why = "is part of a loop"
	case errors.Is(err, fs.ErrNotExist):
		why = "points at nothing"
	}
	return &LinkError{Path: filepath.Join(root.Name(), rel), Why: why, Err: err}
}

// IsLink reports whether err is a *LinkError.
func IsLink(err error) bool {
	var le *LinkError
	return errors.As(err, &le)
}
