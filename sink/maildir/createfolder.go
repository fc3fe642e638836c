package maildir

import (
	"context"
	"errors"
	"fmt"
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
		entries, err := os.ReadDir(filepath.Join(f.dir, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fsError(fmt.Errorf("maildir %s: folder %q: %w", s.root, name, err))
		}
		for _, e := range entries {
			if _, err := formats.ParseMaildirName(e.Name()); err == nil && e.Type().IsRegular() {
				n++
			}
		}
	}
	return n, nil
}
