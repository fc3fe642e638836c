package imap

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/transfer"
)

var _ transfer.Subscriber = (*Sink)(nil)

// SetSubscribed subscribes or unsubscribes folder, when it exists and is
// not so already (which the account's listing, snapshot.go, may tell). Without LIST-EXTENDED the server cannot say which
// folders are subscribed (go-imap has no LSUB), and nothing is changed.
func (s *Sink) SetSubscribed(ctx context.Context, folder string, subscribed bool) (bool, error) {
	caps := s.pool.Info().Caps
	if !caps.Has(imap.CapListExtended) && !caps.Has(imap.CapIMAP4rev2) {
		return false, nil
	}
	if now, ok := s.subscribedAtStart(folder); ok && now == subscribed {
		return false, nil
	}
	c, err := s.pool.Get(ctx)
	if err != nil {
		return false, err
	}
	defer s.pool.Put(c)
	server, exists, err := s.existing(ctx, c, folder)
	if err != nil || !exists {
		return false, err
	}
	var list []*imap.ListData
	err = c.Do(ctx, fmt.Sprintf("LIST %q RETURN (SUBSCRIBED)", server), func() error {
		var err error
		list, err = c.C.List("", server, &imap.ListOptions{ReturnSubscribed: true}).Collect()
		return err
	})
	if err != nil {
		return false, err
	}
	now := false
	for _, l := range list {
		if l.Mailbox == server && imapconn.HasAttr(l.Attrs, imap.MailboxAttrSubscribed) {
			now = true
		}
	}
	if now == subscribed {
		return false, nil
	}
	verb, cmd := "SUBSCRIBE", c.C.Subscribe
	if !subscribed {
		verb, cmd = "UNSUBSCRIBE", c.C.Unsubscribe
	}
	s.touched(server)
	err = c.Do(ctx, fmt.Sprintf("%s %q", verb, server), func() error { return cmd(server).Wait() })
	if err != nil {
		return false, err
	}
	return true, nil
}
