// Package mboxmeta is the format of the files mailferry keeps beside an
// mbox archive, in its meta directory: DIR/.mailferry.lock/ for a
// directory, FILE.mailferry.lock/ beside a single file. Dovecot's mbox
// driver never lists a name ending in ".lock" (it takes them for
// dot-locks), and mbox readers skip hidden names.
//
// sink/mbox writes these files; source/mbox reads them too, so that an
// archive the sink was killed writing (or is still writing) is read only
// as far as it was committed: the bytes after that are not mail yet.
package mboxmeta

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// DirSuffix names the meta directory of an archive (see Dir).
const DirSuffix = ".mailferry.lock"

// Files inside the meta directory.
const (
	CommittedFile = "committed" // the Table: what each mbox file held after the last Flush
	LayoutFile    = "layout"    // which folder layout a directory archive uses
	TornDir       = "torn"      // bytes cut from the ends of files, kept for the user
	StateFile     = "state"     // the default journal of a new directory archive
	LockFile      = "lock"      // the lock a copy holds on the whole archive
)

// Layout names, as the layout file holds them.
const (
	LayoutDovecot = "dovecot"
	LayoutLegacy  = "mbox-extension"
)

// TailHashBytes is how much of a file's end a Record hashes.
const TailHashBytes = int64(4096)

// Dir is the meta directory of the archive at root, a directory or (single)
// one file.
func Dir(root string, single bool) string {
	if single {
		return root + DirSuffix
	}
	return filepath.Join(root, DirSuffix)
}

// Record is what the sink knows about one mbox file: the size it had after
// the last successful Flush, a hash of the bytes just before that size,
// and whether a run was writing to it. A file that is longer than its
// record while Open is set was being appended to when the writer stopped
// (or is being appended to now): everything past Size was never flushed,
// so never journaled, and is not mail yet. A file that does not match its
// record otherwise was changed by another program (mutt or Dovecot
// rewriting flags) and its record says nothing about it.
//
// The hash covers the TailHashBytes before Size, but nothing before From:
// the X-IMAPbase value of the first message, which the sink rewrites in
// place when a message brings a new keyword, stays out of it.
//
// Messages is how many complete messages the file held at Size, or
// UnknownMessages when the sink never knew (a file another program wrote,
// or a record of an older version). With it a re-run notices a file that
// lost messages (moved away, emptied, pruned) without reading the file
// (see sink/mbox's MessageCount).
type Record struct {
	Size     int64  `json:"size"`
	Tail     string `json:"tail"`
	Open     bool   `json:"open"`
	From     int64  `json:"from,omitempty"`
	Messages int64  `json:"messages"`
}

// UnknownMessages is Record.Messages when the count is not known.
const UnknownMessages = int64(-1)

// TableVersion is the version of the Table this package writes. Version 1
// had no message counts: its records read as UnknownMessages.
const TableVersion = 2

// Table is the committed file: a Record per mbox file, by its path
// relative to the archive, slash-separated (the file's base name for a
// single-file archive).
type Table struct {
	Version int                `json:"version"`
	Files   map[string]*Record `json:"files"`
}

// ReadTable reads the committed file of the meta directory dir. A missing
// file is an empty table, and so is a damaged one: it only loses the
// torn-tail check of the files it named, and nothing in the archive
// depends on it.
func ReadTable(dir string) (Table, error) {
	t := Table{Version: TableVersion, Files: map[string]*Record{}}
	path := filepath.Join(dir, CommittedFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return t, nil
	case err != nil:
		return t, fmt.Errorf("reading %s: %w", path, err)
	}
	var read Table
	if err := json.Unmarshal(data, &read); err != nil || read.Files == nil {
		return t, nil
	}
	if read.Version < TableVersion {
		for _, r := range read.Files {
			r.Messages = UnknownMessages
		}
		read.Version = TableVersion
	}
	return read, nil
}

// Uncommitted reports whether the bytes of ra (a file of size bytes) past
// r.Size are what a run wrote without committing: the record is open,
// the file longer, and the bytes before r.Size those the record hashed.
func (r Record) Uncommitted(ra io.ReaderAt, size int64) (bool, error) {
	if !r.Open || size <= r.Size {
		return false, nil
	}
	return r.tailMatches(ra)
}

// Holds reports whether ra (a file of size bytes) still ends at r.Size
// with the bytes the record hashed, and so holds the r.Messages messages
// that were in it then, and nothing another program changed.
func (r Record) Holds(ra io.ReaderAt, size int64) (bool, error) {
	if size != r.Size {
		return false, nil
	}
	return r.tailMatches(ra)
}

// tailMatches reports whether the bytes of ra before r.Size are those the
// record hashed.
func (r Record) tailMatches(ra io.ReaderAt) (bool, error) {
	h, err := TailHash(ra, r.From, r.Size)
	if err != nil {
		return false, err
	}
	return h == r.Tail, nil
}

// TailHash hashes the TailHashBytes of ra before end, from no earlier than
// from.
func TailHash(ra io.ReaderAt, from, end int64) (string, error) {
	start := min(max(end-TailHashBytes, from, 0), end)
	buf := make([]byte, end-start)
	if _, err := ra.ReadAt(buf, start); err != nil && !(err == io.EOF && len(buf) == 0) {
		return "", err
	}
	h := sha256.Sum256(buf)
	return hex.EncodeToString(h[:16]), nil
}
