package mbox

import (
	"context"

	"github.com/mailferry/mailferry/transfer"
)

var _ transfer.MailboxIdentifier = (*Source)(nil)

// MailboxIdentity names the folder's file by device and inode, so an mbox
// sink reached under another path (a symlink) is recognised.
func (s *Source) MailboxIdentity(ctx context.Context, folder string, listed []transfer.Message) (string, error) {
	ff, err := s.fileOf(ctx, folder)
	if err != nil {
		return "", err
	}
	return transfer.PathMailboxIdentity(ff.path), nil
}
