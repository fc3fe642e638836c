package imap

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/transfer"
)

// cleanup runs after an APPEND broke off: it looks at the messages with a
// UID of at least mark (every message APPENDed since the APPEND began) and
// compares them with the message. A complete copy means the server stored
// it before the connection went (stored=true); a copy that is a proper
// prefix of the message is a partial one and is deleted. If that cannot be
// done or checked, the error is Fatal and says where the partial copy may
// be, so it is never left silently.
func (s *Sink) cleanup(ctx context.Context, f *destFolder, m transfer.Message, mark imap.UID, body *spool) (stored bool, err error) {
	fail := func(err error) (bool, error) {
		return false, transfer.FatalError(&transfer.MessageError{Folder: m.Folder, ID: m.ID, Err: fmt.Errorf(
			"an APPEND broke off and the folder could not be checked for a partial copy (UID %d or above may be one; delete it by hand): %w", mark, err)})
	}
	c, err := s.pool.Get(ctx)
	if err != nil {
		return fail(err)
	}
	defer s.pool.Put(c)
	sel, err := c.Select(ctx, f.server, false)
	if err != nil {
		return fail(err)
	}
	if sel.NumMessages == 0 {
		return false, nil
	}
	var metas []*imapclientBuffer
	err = c.Do(ctx, fmt.Sprintf("folder %q: UID FETCH %d:* (UID RFC822.SIZE)", m.Folder, mark), func() error {
		var err error
		metas, err = c.C.Fetch(imap.UIDSet{imap.UIDRange{Start: mark, Stop: 0}}, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
		return err
	})
	if err != nil {
		return fail(err)
	}
	var partial imap.UIDSet
	var partialUIDs []imap.UID
	for _, meta := range metas {
		if meta.UID < mark || meta.RFC822Size > body.size || meta.SeqNum == 0 {
			continue
		}
		// By sequence number: go-imap routes that without relying on
		// where the server puts the UID.
		var got []byte
		err := c.Do(ctx, fmt.Sprintf("folder %q: FETCH %d BODY.PEEK[]", m.Folder, meta.SeqNum), func() error {
			bufs, err := c.C.Fetch(imap.SeqSetNum(meta.SeqNum), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
			if err != nil {
				return err
			}
			for _, b := range bufs {
				if b.UID == meta.UID {
					for _, sec := range b.BodySection {
						got = sec.Bytes
					}
				}
			}
			return nil
		})
		if err != nil {
			return fail(err)
		}
		same, prefix, err := compare(body, got)
		if err != nil {
			return fail(err)
		}
		switch {
		case same:
			stored = true
		case prefix:
			partial.AddNum(meta.UID)
			partialUIDs = append(partialUIDs, meta.UID)
		}
	}
	if len(partialUIDs) == 0 {
		return stored, nil
	}
	if !c.Info.Caps.Has(imap.CapUIDPlus) {
		return fail(fmt.Errorf("partial copies at UID %v, and without UIDPLUS they cannot be deleted alone", partialUIDs))
	}
	err = c.Do(ctx, fmt.Sprintf("folder %q: deleting partial copy UID %v", m.Folder, partialUIDs), func() error {
		if err := c.C.Store(partial, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			return err
		}
		_, err := c.C.UIDExpunge(partial).Collect()
		return err
	})
	if err != nil {
		return fail(err)
	}
	s.warn(fmt.Sprintf("imap %s: folder %q, message %s: deleted the partial copy (UID %v) a broken APPEND left behind",
		c.Options().Server(), m.Folder, m.ID, partialUIDs))
	return stored, nil
}

// compare tells whether got is the whole spooled message or a proper
// prefix of it.
func compare(sp *spool, got []byte) (same, prefix bool, err error) {
	if int64(len(got)) > sp.size {
		return false, false, nil
	}
	want := make([]byte, len(got))
	if _, err := io.ReadFull(sp.reader(), want); err != nil {
		return false, false, err
	}
	if !bytes.Equal(want, got) {
		return false, false, nil
	}
	return int64(len(got)) == sp.size, int64(len(got)) < sp.size, nil
}
