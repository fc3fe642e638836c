package maildir

import (
	"context"

	"github.com/mailferry/mailferry/transfer"
)

var _ transfer.MailboxIdentifier = (*Source)(nil)

// MailboxIdentity names the folder's directory by device and inode, so a
// Maildir sink reached under another path (a symlink) is recognised.
func (s *Source) MailboxIdentity(ctx context.Context, folder string, listed []transfer.Message) (string, error) {
	dir, err := s.folderDir(folder)
	if err != nil {
		return "", err
	}
	return transfer.PathMailboxIdentity(dir), nil
}
