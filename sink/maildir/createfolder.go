package maildir

import (
	"context"

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
