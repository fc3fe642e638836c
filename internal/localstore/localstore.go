// Package localstore reads the files of a local mail store (a Maildir, a
// directory of mbox files) through an os.Root, so that a symbolic link
// inside the store cannot make mailferry read a file outside it. A store
// is often read by another user than the one who owns it (root backing up
// a user's Maildir), and that user could otherwise plant a link to any file
// and get it copied as a message.
//
// Links that stay inside the store are followed, also those with an
// absolute target inside it. A link that leads out of
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
	"strings"
	"syscall"

	"github.com/mailferry/mailferry/internal/regfile"
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
	if err = linkError(root, rel, err); !escapes(err) {
		return nil, err
	}
	if inside, ok := absoluteInside(root, rel); ok {
		return root.Stat(inside)
	}
	return nil, err
}

// Open opens rel for reading with the same rules as Stat.
func Open(root *os.Root, rel string) (*os.File, error) {
	f, err := root.Open(rel)
	if err == nil {
		return f, nil
	}
	if err = linkError(root, rel, err); !escapes(err) {
		return nil, err
	}
	if inside, ok := absoluteInside(root, rel); ok {
		return root.Open(inside)
	}
	return nil, err
}

const whyEscapes = "leads out of the store"

// linkError turns err, which resolving rel gave, into a *LinkError when
// rel is a symbolic link.
func linkError(root *os.Root, rel string, err error) error {
	li, lerr := root.Lstat(rel)
	if lerr != nil || li.Mode()&fs.ModeSymlink == 0 {
		return err
	}
	why := whyEscapes
	switch {
	case errors.Is(err, syscall.ELOOP):
		why = "is part of a loop"
	case errors.Is(err, fs.ErrNotExist):
		why = "points at nothing"
	}
	return &LinkError{Path: filepath.Join(root.Name(), rel), Why: why, Err: err}
}

func escapes(err error) bool {
	var le *LinkError
	return errors.As(err, &le) && le.Why == whyEscapes
}

// absoluteInside handles the one kind of link an os.Root refuses although
// it stays inside: one with an absolute target ("ln -s /home/u/mail/x"). It
// resolves every link of rel and returns the result relative to the root
// when that is inside it. The caller opens that path through the root
// again, so a link changed in between cannot lead out either.
func absoluteInside(root *os.Root, rel string) (string, bool) {
	base, err := filepath.EvalSymlinks(root.Name())
	if err != nil {
		return "", false
	}
	target, err := filepath.EvalSymlinks(filepath.Join(root.Name(), rel))
	if err != nil {
		return "", false
	}
	inside, err := filepath.Rel(base, target)
	if err != nil || inside == ".." || strings.HasPrefix(inside, ".."+string(filepath.Separator)) || filepath.IsAbs(inside) {
		return "", false
	}
	return inside, true
}

// IsLink reports whether err is a *LinkError.
func IsLink(err error) bool {
	var le *LinkError
	return errors.As(err, &le)
}

// Dir is a directory of the store held open, so that the files in it are
// opened with one system call each: Open through the root walks every
// element of the path again (an openat and a close for each directory)
// and registers the file with the runtime's poller (see regfile).
type Dir struct {
	root *os.Root
	rel  string
	f    *os.File
}

// OpenDir opens the directory rel (relative to root) with the rules of
// Open.
func OpenDir(root *os.Root, rel string) (*Dir, error) {
	f, err := Open(root, rel)
	if err != nil {
		return nil, err
	}
	return &Dir{root: root, rel: rel, f: f}, nil
}

// Open opens the file name (one path element) of the directory for
// reading. A symbolic link is resolved as Open resolves it, so a link
// that leads out of the store is a *LinkError here too.
func (d *Dir) Open(name string) (*os.File, error) {
	f, err := regfile.OpenIn(d.f, name)
	if errors.Is(err, syscall.ELOOP) {
		return Open(d.root, filepath.Join(d.rel, name))
	}
	return f, err
}

// Close closes the directory.
func (d *Dir) Close() error { return d.f.Close() }
