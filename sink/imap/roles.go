package imap

import (
	"context"

	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/transfer"
)

// FolderForRole returns the destination's folder with the special-use
// attribute role, or else the first existing folder with a common name
// for it ("Sent Items" for \Sent, …): transfer.RoleFolder, the rule
// verify follows too.
func (s *Sink) FolderForRole(ctx context.Context, role string) (string, bool, error) {
	list, err := s.listing(ctx)
	if err != nil {
		return "", false, err
	}
	folders := make([]transfer.Folder, len(list))
	for i, l := range list {
		folders[i] = l.Folder
	}
	name, ok := transfer.RoleFolder(folders, role)
	return name, ok, nil
}

// listing is the destination's LIST, cached until a folder is created.
func (s *Sink) listing(ctx context.Context) ([]imapconn.ListedFolder, error) {
	s.listMu.Lock()
	cached := s.listed
	s.listMu.Unlock()
	if cached != nil {
		return cached, nil
	}
	c, err := s.pool.Get(ctx)
	if err != nil {
		return nil, err
	}
	defer s.pool.Put(c)
	list, err := imapconn.ListFolders(ctx, c, false)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []imapconn.ListedFolder{}
	}
	s.listMu.Lock()
	s.listed = list
	s.listMu.Unlock()
	return list, nil
}
