package imap

import (
	"context"
	"strings"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/imapconn"
)

// FolderForRole returns the destination's folder with the special-use
// attribute role, or else the first existing folder with a common name
// for it (formats.RoleNames: "Sent Items" for \Sent, …).
func (s *Sink) FolderForRole(ctx context.Context, role string) (string, bool, error) {
	list, err := s.listing(ctx)
	if err != nil {
		return "", false, err
	}
	for _, l := range list {
		if l.Role != "" && strings.EqualFold(l.Role, role) {
			return l.Name, true, nil
		}
	}
	for _, name := range formats.RoleNames[canonicalRole(role)] {
		for _, l := range list {
			if strings.EqualFold(l.Name, name) {
				return l.Name, true, nil
			}
		}
	}
	return "", false, nil
}

func canonicalRole(role string) string {
	for r := range formats.RoleNames {
		if strings.EqualFold(r, role) {
			return r
		}
	}
	return role
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
