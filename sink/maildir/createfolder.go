package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

var _ transfer.FolderCreator = (*Sink)(nil)

// CreateFolder makes folder's Maildir (cur/, new/, tmp/) when it does not
// exist.
func (s *Sink) CreateFolder(ctx context.Context, name string) (bool, error) {
	f, err := s.folder(name, false)
	if err != nil {
		return false, err
	}
	existed := f.exists()
	if _, err := s.folder(name, true); err != nil {
		return false, err
	}
	return !existed, nil
}

var _ transfer.MessageCounter = (*Sink)(nil)

// MessageCount counts the files in cur/ and new/ of folder; 0 for a folder
// that does not exist.
func (s *Sink) MessageCount(ctx context.Context, name string) (int, error) {
	f, err := s.folder(name, false)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sub := range []string{"cur", "new"} {
		c, err := countMessageFiles(filepath.Join(f.dir, sub))
		if err != nil {
			return 0, fsError(fmt.Errorf("maildir %s: folder %q: %w", s.root, name, err))
		}
		n += c
	}
	return n, nil
}

// countMessageFiles counts the message files of dir, 0 when it does not
// exist. It reads the directory a batch of entries at a time: the run
// that counts is the re-run of a mailbox copied already, and the entries
// of a folder of 100,000 messages read at once would be most of its memory.
func countMessageFiles(dir string) (int, error) {
	d, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer d.Close()
	n := 0
	for {
		entries, err := d.ReadDir(1024)
		for _, e := range entries {
			if _, err := formats.ParseMaildirName(e.Name()); err == nil && e.Type().IsRegular() {
				n++
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
