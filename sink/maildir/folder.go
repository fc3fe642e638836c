package maildir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// folder is one Maildir folder of the sink.
type folder struct {
	name string // transfer folder name
	dir  string // absolute path of the folder's Maildir

	mu      sync.Mutex // guards created and swept
	created bool
	swept   bool // tmp/ was cleaned of old files

	kwMu     sync.Mutex // guards kw and kwLoaded, serialises dovecot-keywords updates
	kw       formats.MaildirKeywords
	kwLoaded bool
}

// folder returns the folder called name; with create, its Maildir is made
// when missing. A name that cannot be stored is a PerMessage error.
func (s *Sink) folder(name string, create bool) (*folder, error) {
	rel, err := formats.MaildirFolderPath(name, s.opts.Layout)
	if err != nil {
		return nil, transfer.PerMessageError(fmt.Errorf("maildir %s: %w", s.root, err))
	}
	s.mu.Lock()
	f, ok := s.folders[rel]
	if !ok {
		f = &folder{name: name, dir: filepath.Join(s.root, filepath.FromSlash(rel))}
		s.folders[rel] = f
	}
	s.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.swept {
		// Before the first message goes in, so no delivery of this run
		// is in tmp/ yet.
		f.swept = true
		s.sweepTmp(f)
	}
	if !create || f.created {
		return f, nil
	}
	if rel != "" {
		if err := makeMaildir(f.dir, !isFS(s.opts.Layout)); err != nil {
			return nil, fsError(fmt.Errorf("maildir %s: create folder %q: %w", s.root, name, err))
		}
	}
	f.created = true
	return f, nil
}

func isFS(layout string) bool { return strings.EqualFold(layout, formats.LayoutFS) }

// makeMaildir creates dir with tmp/, new/ and cur/ (and, for a Maildir++
// subfolder, the empty maildirfolder file Dovecot and Courier create), and
// fsyncs what it created so the folder survives a crash. It is idempotent
// and safe to run concurrently with itself.
func makeMaildir(dir string, subfolder bool) error {
	parent := filepath.Dir(dir)
	createdDir, err := mkdir(dir)
	if errors.Is(err, os.ErrNotExist) {
		// fs layout: parent folders are plain directories.
		if err = os.MkdirAll(parent, dirMode); err == nil {
			createdDir, err = mkdir(dir)
		}
	}
	if err != nil {
		return err
	}
	changed := false
	for _, sub := range []string{"tmp", "new", "cur"} {
		c, err := mkdir(filepath.Join(dir, sub))
		if err != nil {
			return err
		}
		changed = changed || c
	}
	if subfolder {
		p := filepath.Join(dir, "maildirfolder")
		mf, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
		switch {
		case err == nil:
			changed = true
			if err := mf.Close(); err != nil {
				return err
			}
		case !errors.Is(err, os.ErrExist):
			return err
		}
	}
	if changed {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	if createdDir {
		return syncDir(parent)
	}
	return nil
}

// mkdir creates a directory, reporting whether it did; an existing
// directory is fine, an existing file in its place is an error.
func mkdir(p string) (bool, error) {
	err := os.Mkdir(p, dirMode)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, os.ErrExist) {
		if st, serr := os.Stat(p); serr == nil && st.IsDir() {
			return false, nil
		}
		return false, fmt.Errorf("%s exists and is not a directory", p)
	}
	return false, err
}

// exists reports whether the folder's Maildir exists on disk.
func (f *folder) exists() bool { return isDir(filepath.Join(f.dir, "cur")) }
