package imap

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/transfer"
)

var (
	_ transfer.Keyer             = (*Source)(nil)
	_ transfer.MailboxIdentifier = (*Source)(nil)
)

// Keys reads the identity keys of msgs from their headers, without their
// bodies: the UIDs are mapped to sequence numbers (UID FETCH (UID) has
// no literal, so go-imap routes it correctly) and the fields fetched by
// sequence number, which go-imap routes whatever the order of the items.
func (s *Source) Keys(ctx context.Context, folder string, msgs []transfer.Message) (map[string]string, error) {
	out := make(map[string]string, len(msgs))
	if len(msgs) == 0 {
		return out, nil
	}
	f := s.folder(folder)
	var validity uint32
	uids := make([]imap.UID, 0, len(msgs))
	for _, m := range msgs {
		v, uid, err := ParseID(m.ID)
		if err != nil {
			return nil, transfer.FatalError(fmt.Errorf("folder %q: %w", folder, err))
		}
		validity = v
		uids = append(uids, uid)
	}
	c, err := s.pool.Get(ctx)
	if err != nil {
		return nil, err
	}
	defer s.pool.Put(c)
	sel, err := c.Select(ctx, f.server, true)
	if err != nil {
		return nil, fmt.Errorf("folder %q: %w", folder, err)
	}
	if sel.UIDValidity != validity {
		// Renumbered since the listing: no key is given under the old
		// identities; the fetch reports each message.
		return out, nil
	}
	seqs, err := c.SeqNums(ctx, uids, folder)
	if err != nil {
		return nil, err
	}
	if len(seqs) == 0 {
		return out, nil
	}
	keyed, err := c.FetchKeys(ctx, seqs, fmt.Sprintf("folder %q: FETCH (UID BODY.PEEK[HEADER])", folder))
	if err != nil {
		return nil, err
	}
	for _, k := range keyed {
		if k.UID != 0 {
			out[FormatID(validity, k.UID)] = k.Key
		}
	}
	return out, nil
}

// MailboxIdentity is transfer.UIDMailboxIdentity of the listing.
func (s *Source) MailboxIdentity(ctx context.Context, folder string, listed []transfer.Message) (string, error) {
	var (
		validity uint32
		uids     []uint32
		sizes    []int64
	)
	for _, m := range listed {
		v, uid, err := ParseID(m.ID)
		if err != nil {
			return "", transfer.FatalError(fmt.Errorf("folder %q: %w", folder, err))
		}
		validity = v
		uids = append(uids, uint32(uid))
		sizes = append(sizes, m.Size)
	}
	return transfer.UIDMailboxIdentity(validity, uids, sizes), nil
}
