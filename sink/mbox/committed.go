package mbox

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
	"strconv"
	"sync"
)

// metaDirSuffix names the directory holding mailferry's own files for an
// archive: DIR/.mailferry.lock for a directory, FILE.mailferry.lock beside a
// single file. Dovecot's mbox driver lists every other file and directory
// as a mailbox, but never one whose name ends in ".lock" (it takes them for
// dot-locks), and mbox readers skip hidden names.
const metaDirSuffix = ".mailferry.lock"

// Files inside the meta directory.
const (
	committedFile = "committed" // what each mbox file held after the last Flush
	layoutFile    = "layout"    // which folder layout a directory archive uses
	tornDir       = "torn"      // bytes cut from the ends of files, kept for the user
	stateFile     = "state"     // the default journal of a new directory archive
	archiveLock   = "lock"      // the lock a copy holds on the whole archive
	tailHashBytes = int64(4096) // how much of a file's end the record hashes
	committedMode = fs.FileMode(0o600)
)

// fileRecord is what the sink knows about one mbox file: the size it had
// after the last successful Flush, a hash of the bytes just before that
// size, and whether a run was writing to it. A file that is longer than
// its record while Open is set was being appended to when the writer was
// killed: everything past Size was never flushed, so never journaled, and
// is cut off and kept in the torn directory. A file that does not match
// its record otherwise was changed by another program (mutt or Dovecot
// rewriting flags) and is left as it is.
//
// The hash covers the tailHashBytes before Size, but nothing before From:
// the X-IMAPbase value of the first message, which the sink rewrites in
// place when a message brings a new keyword, stays out of it.
type fileRecord struct {
	Size int64  `json:"size"`
	Tail string `json:"tail"`
	Open bool   `json:"open"`
	From int64  `json:"from,omitempty"`
}

type committedTable struct {
	Version int                    `json:"version"`
	Files   map[string]*fileRecord `json:"files"`
}

// meta is an archive's meta directory. Its records are written atomically
// (temporary file, fsync, rename, fsync of the directory) before Flush
// returns, so a record never claims less than what was journaled.
type meta struct {
	dir string

	mu      sync.Mutex
	loaded  bool
	table   committedTable
	dirty   bool
	created bool // the directory exists
}

func newMeta(dir string) *meta { return &meta{dir: dir} }

// load reads the records once; a missing file is an empty table.
func (m *meta) load() error {
	if m.loaded {
		return nil
	}
	m.table = committedTable{Version: 1, Files: map[string]*fileRecord{}}
	data, err := os.ReadFile(filepath.Join(m.dir, committedFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading %s: %w", filepath.Join(m.dir, committedFile), err)
	default:
		var t committedTable
		if err := json.Unmarshal(data, &t); err != nil || t.Files == nil {
			// A damaged table only loses the torn-tail check of the
			// files it named; nothing in the archive depends on it.
			break
		}
		m.table = t
	}
	m.loaded = true
	return nil
}

// get returns the record of the file at rel (slash-separated, relative to
// the archive), or nil.
func (m *meta) get(rel string) (*fileRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.load(); err != nil {
		return nil, err
	}
	if r, ok := m.table.Files[rel]; ok {
		c := *r
		return &c, nil
	}
	return nil, nil
}

// set records rel's state; save makes it durable.
func (m *meta) set(rel string, r fileRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.load(); err != nil {
		return err
	}
	if old, ok := m.table.Files[rel]; ok && *old == r {
		return nil
	}
	m.table.Files[rel] = &r
	m.dirty = true
	return nil
}

// save writes the records if they changed.
func (m *meta) save() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirty {
		return nil
	}
	if err := m.ensureDir(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(m.table, "", " ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(m.dir, committedFile), append(data, '\n')); err != nil {
		return err
	}
	m.dirty = false
	return nil
}

// ensureDir creates the meta directory (and its parents) durably.
func (m *meta) ensureDir() error {
	if m.created {
		return nil
	}
	created, err := mkdirAll(m.dir)
	if err != nil {
		return fmt.Errorf("creating %s: %w", m.dir, err)
	}
	for i := len(created) - 1; i >= 0; i-- {
		if err := syncDir(created[i]); err != nil {
			return err
		}
	}
	m.created = true
	return nil
}

// writeAtomic replaces path by data: a crash leaves the old or the new
// content, never a mix.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, committedMode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// saveTorn copies the bytes of ra from cut to size into the torn directory
// as <rel>@<cut> and returns its path.
func (m *meta) saveTorn(rel string, ra io.ReaderAt, cut, size int64) (string, error) {
	m.mu.Lock()
	err := m.ensureDir()
	m.mu.Unlock()
	if err != nil {
		return "", err
	}
	name := filepath.Join(m.dir, tornDir, filepath.FromSlash(rel)+"@"+strconv.FormatInt(cut, 10))
	if _, err := mkdirAll(filepath.Dir(name)); err != nil {
		return "", err
	}
	out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, io.NewSectionReader(ra, cut, size-cut))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(name))
	}
	return name, err
}

// tailHash hashes the tailHashBytes of ra before end, from no earlier than
// from.
func tailHash(ra io.ReaderAt, from, end int64) (string, error) {
	start := min(max(end-tailHashBytes, from, 0), end)
	buf := make([]byte, end-start)
	if _, err := ra.ReadAt(buf, start); err != nil && !(err == io.EOF && len(buf) == 0) {
		return "", err
	}
	h := sha256.Sum256(buf)
	return hex.EncodeToString(h[:16]), nil
}
