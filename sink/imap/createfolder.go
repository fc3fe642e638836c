package imap

import (
	"context"

	"github.com/mailferry/mailferry/transfer"
)

var _ transfer.FolderCreator = (*Sink)(nil)

// CreateFolder creates folder (with its parents, subscribed, under the
// rename rule if the server refuses the name) when it does not exist.
func (s *Sink) CreateFolder(ctx context.Context, folder string) (bool, error) {
	f := s.folder(folder)
	c, err := s.pool.Get(ctx)
	if err != nil {
		return false, err
	}
	f.mu.Lock()
	exists, err := s.locate(ctx, c, f)
	f.mu.Unlock()
	s.pool.Put(c)
	if err != nil {
		return false, err
	}
	if exists {
		return false, nil
	}
	return true, s.prepare(ctx, f)
}
