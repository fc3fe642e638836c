package mbox

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/mailferry/mailferry/internal/mboxmeta"
)

// committedMode is the mode of the files in the meta directory.
const committedMode = fs.FileMode(0o600)

// fileRecord is mboxmeta.Record: what the sink knows of one file.
type fileRecord = mboxmeta.Record

// meta is an archive's meta directory. Its records are written atomically
// (temporary file, fsync, rename, fsync of the directory) before Flush
// returns, so a record never claims less than what was journaled.
type meta struct {
	dir      string
	readOnly bool // a dry run: save writes nothing

	mu      sync.Mutex
	loaded  bool
	table   mboxmeta.Table
	dirty   bool
	created bool // the directory exists
}

func newMeta(dir string) *meta { return &meta{dir: dir} }

// load reads the records once; a missing file is an empty table.
func (m *meta) load() error {
	if m.loaded {
		return nil
	}
	t, err := mboxmeta.ReadTable(m.dir)
	if err != nil {
		return err
	}
	m.table, m.loaded = t, true
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
	if !m.dirty || m.readOnly {
		return nil
	}
	if err := m.ensureDir(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(m.table, "", " ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(m.dir, mboxmeta.CommittedFile), append(data, '\n')); err != nil {
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
	name := filepath.Join(m.dir, mboxmeta.TornDir, filepath.FromSlash(rel)+"@"+strconv.FormatInt(cut, 10))
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
