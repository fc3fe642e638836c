package imap

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/transfer"
)

var _ transfer.FolderCreator = (*Sink)(nil)

// CreateFolder creates folder (with its parents, subscribed, under the
// rename rule if the server refuses the name) when it does not exist.
func (s *Sink) CreateFolder(ctx context.Context, folder string) (bool, error) {
	f := s.folder(folder)
	if _, ok := s.listedAtStart(f.serverName()); ok {
		return false, nil
	}
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

var _ transfer.MessageCounter = (*Sink)(nil)

// MessageCount asks STATUS (MESSAGES) of folder, unless the account's
// listing (snapshot.go) says; 0 for a folder that does not exist.
func (s *Sink) MessageCount(ctx context.Context, folder string) (int, error) {
	if n, ok := s.countAtStart(folder); ok {
		return n, nil
	}
	c, err := s.pool.Get(ctx)
	if err != nil {
		return 0, err
	}
	defer s.pool.Put(c)
	server, exists, err := s.existing(ctx, c, folder)
	if err != nil || !exists {
		return 0, err
	}
	var st *imap.StatusData
	err = c.Do(ctx, fmt.Sprintf("STATUS %q (MESSAGES)", server), func() error {
		var err error
		st, err = c.C.Status(server, &imap.StatusOptions{NumMessages: true}).Wait()
		return err
	})
	if err != nil {
		return 0, err
	}
	if st.NumMessages == nil {
		return -1, nil
	}
	return int(*st.NumMessages), nil
}

// existing looks folder up on the server through c (under the name an
// earlier refusal gave it, if so): its server name and whether it exists.
func (s *Sink) existing(ctx context.Context, c *imapconn.Conn, folder string) (server string, exists bool, err error) {
	f := s.folder(folder)
	f.mu.Lock()
	defer f.mu.Unlock()
	exists, err = s.locate(ctx, c, f)
	return f.server, exists, err
}
