package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/transfer"
)

// headSize is how much of a message is kept to recognise a partial copy
// that appears late.
const headSize = 64 << 10

// suspect is an APPEND that broke off without a partial copy in sight: a
// server that notices the broken connection late may still store one.
// Close looks again.
type suspect struct {
	id   string
	mark imap.UID
	size int64
	head []byte
}

// cleanup runs after an APPEND command broke off, with the messages it
// carried (one, or a MULTIAPPEND's): it looks at the messages with a UID of
// at least mark (every message APPENDed since the command began) and
// compares them with ours. A complete copy of one means the server stored
// it before the connection went (stored[i]); a copy that is a proper prefix
// of one is a partial one and is deleted. If that cannot be done or
// checked, the error is Fatal and says where the partial copy may be, so it
// is never left silently.
func (s *Sink) cleanup(ctx context.Context, f *destFolder, msgs []*outgoing, mark imap.UID) (stored []bool, err error) {
	fail := func(err error) ([]bool, error) {
		if ctx.Err() != nil {
			// The run is stopping and cannot wait for the check:
			// Close makes it, with a context of its own.
			serr := s.suspectAll(f, msgs, mark)
			if serr == nil {
				return nil, err
			}
			err = serr
		}
		what := "an APPEND broke off"
		if len(msgs) > 1 {
			what = fmt.Sprintf("an APPEND of %d messages (this one and %s) broke off", len(msgs), otherIDs(msgs[1:]))
		}
		return nil, transfer.FatalError(&transfer.MessageError{Folder: msgs[0].m.Folder, ID: msgs[0].m.ID, Err: fmt.Errorf(
			"%s and the folder could not be checked for a partial copy (UID %d or above may be one; delete it by hand): %w", what, mark, err)})
	}
	// Give the server a moment to notice the broken connection and store
	// (or drop) what it received.
	select {
	case <-time.After(partialSettle):
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	c, err := s.pool.Get(ctx)
	if err != nil {
		return fail(err)
	}
	defer s.pool.Put(c)
	var largest int64
	for _, o := range msgs {
		largest = max(largest, o.body.size)
	}
	stored = make([]bool, len(msgs))
	partialOf := map[imap.UID]int{}
	_, partial, err := scan(ctx, c, f, msgs[0].m.Folder, mark, largest, func(uid imap.UID, got []byte) (bool, bool, error) {
		// Each copy is one message's: the first of ours it is whole
		// and not yet found, or else the first it is a prefix of.
		prefixOf := -1
		for i, o := range msgs {
			same, prefix, err := compare(o.body, got)
			if err != nil {
				return false, false, err
			}
			if same && !stored[i] {
				stored[i] = true
				return true, false, nil
			}
			if prefix && prefixOf < 0 {
				prefixOf = i
			}
		}
		if prefixOf >= 0 {
			partialOf[uid] = prefixOf
		}
		return false, prefixOf >= 0, nil
	})
	if err != nil {
		return fail(err)
	}
	if len(partial) > 0 {
		id := msgs[partialOf[partial[0]]].m.ID
		if err := s.deletePartial(ctx, c, f, msgs[0].m.Folder, id, partial); err != nil {
			return fail(err)
		}
		return stored, nil
	}
	var missing []*outgoing
	for i, o := range msgs {
		if !stored[i] {
			missing = append(missing, o)
		}
	}
	if err := s.suspectAll(f, missing, mark); err != nil {
		return fail(err)
	}
	return stored, nil
}

// otherIDs names the messages of msgs for an error, a few of them.
func otherIDs(msgs []*outgoing) string {
	var ids []string
	for i, o := range msgs {
		if i == 3 {
			ids = append(ids, fmt.Sprintf("%d more", len(msgs)-i))
			break
		}
		ids = append(ids, o.m.ID)
	}
	return strings.Join(ids, ", ")
}

// suspectAll notes broken APPENDs of msgs for Close to look at again.
func (s *Sink) suspectAll(f *destFolder, msgs []*outgoing, mark imap.UID) error {
	for _, o := range msgs {
		if err := s.suspect(f, o.m, mark, o.body); err != nil {
			return err
		}
	}
	return nil
}

// suspect notes a broken APPEND for Close to look at again.
func (s *Sink) suspect(f *destFolder, m transfer.Message, mark imap.UID, body *wire) error {
	head := make([]byte, min(body.size, headSize))
	if _, err := io.ReadFull(body.reader(), head); err != nil {
		return err
	}
	f.mu.Lock()
	f.suspects = append(f.suspects, suspect{id: m.ID, mark: mark, size: body.size, head: head})
	f.mu.Unlock()
	return nil
}

// scan compares the messages with a UID of at least mark and at most size
// bytes with ours: it returns whether one is a complete copy, and the UIDs
// of partial ones.
func scan(ctx context.Context, c *imapconn.Conn, f *destFolder, folder string, mark imap.UID, size int64,
	ours func(uid imap.UID, got []byte) (same, prefix bool, err error)) (stored bool, partial []imap.UID, err error) {
	c.Unselected() // a fresh SELECT: a cached one may predate the APPEND
	sel, err := c.Select(ctx, f.server, false)
	if err != nil {
		return false, nil, err
	}
	if sel.NumMessages == 0 {
		return false, nil, nil
	}
	var metas []*imapclientBuffer
	err = c.Do(ctx, fmt.Sprintf("folder %q: UID FETCH %d:* (UID RFC822.SIZE)", folder, mark), func() error {
		var err error
		metas, err = c.C.Fetch(imap.UIDSet{imap.UIDRange{Start: mark, Stop: 0}}, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
		return err
	})
	if err != nil {
		return false, nil, err
	}
	for _, meta := range metas {
		if meta.UID < mark || meta.RFC822Size > size || meta.SeqNum == 0 {
			continue
		}
		// By sequence number: go-imap routes that without relying on
		// where the server puts the UID.
		var got []byte
		err := c.Do(ctx, fmt.Sprintf("folder %q: FETCH %d BODY.PEEK[]", folder, meta.SeqNum), func() error {
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
			return false, nil, err
		}
		same, prefix, err := ours(meta.UID, got)
		if err != nil {
			return false, nil, err
		}
		switch {
		case same:
			stored = true
		case prefix:
			partial = append(partial, meta.UID)
		}
	}
	return stored, partial, nil
}

// deletePartial removes partial copies: UID STORE \Deleted and UID EXPUNGE
// of exactly those UIDs (UIDPLUS), so no other message is touched.
func (s *Sink) deletePartial(ctx context.Context, c *imapconn.Conn, f *destFolder, folder, id string, uids []imap.UID) error {
	if !c.Info.Caps.Has(imap.CapUIDPlus) {
		return fmt.Errorf("partial copies at UID %v, and without UIDPLUS they cannot be deleted alone", uids)
	}
	if err := expungeUIDs(ctx, c, f.server, uids, fmt.Sprintf("folder %q: deleting partial copy UID %v", folder, uids)); err != nil {
		return err
	}
	s.warn(fmt.Sprintf("imap %s: folder %q, message %s: deleted the partial copy (UID %v) a broken APPEND left behind",
		c.Options().Server(), folder, id, uids))
	return nil
}

// sweep looks once more for partial copies of APPENDs that broke off, which
// a server may store after it notices the broken connection.
func (s *Sink) sweep(ctx context.Context) error {
	s.mu.Lock()
	var folders []*destFolder
	for _, f := range s.folders {
		folders = append(folders, f)
	}
	s.mu.Unlock()
	var errs []error
	for _, f := range folders {
		f.mu.Lock()
		sus := f.suspects
		f.suspects = nil
		f.mu.Unlock()
		if len(sus) == 0 {
			continue
		}
		c, err := s.pool.Get(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("folder %q: checking for partial copies of broken APPENDs: %w", f.name, err))
			continue
		}
		for _, su := range sus {
			_, partial, err := scan(ctx, c, f, f.name, su.mark, su.size-1, func(_ imap.UID, got []byte) (bool, bool, error) {
				n := min(len(got), len(su.head))
				return false, int64(len(got)) < su.size && bytes.Equal(got[:n], su.head[:n]), nil
			})
			if err == nil && len(partial) > 0 {
				err = s.deletePartial(ctx, c, f, f.name, su.id, partial)
			}
			if err != nil {
				errs = append(errs, transfer.FatalError(&transfer.MessageError{Folder: f.name, ID: su.id, Err: fmt.Errorf(
					"an APPEND broke off and the folder could not be checked for a partial copy (UID %d or above may be one; delete it by hand): %w", su.mark, err)}))
			}
		}
		s.pool.Put(c)
	}
	return errors.Join(errs...)
}

// partialSettle is how long cleanup waits before it looks for a partial
// copy.
const partialSettle = 250 * time.Millisecond

// sweepTimeout bounds the final look for partial copies in Close.
const sweepTimeout = 2 * time.Minute

// compare tells whether got is the whole spooled message or a proper
// prefix of it.
func compare(sp *wire, got []byte) (same, prefix bool, err error) {
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

// expungeUIDs removes exactly the messages uids of mailbox: UID STORE
// +FLAGS.SILENT (\Deleted), then UID EXPUNGE of those UIDs (the caller
// checked UIDPLUS), so no other message marked \Deleted is touched.
func expungeUIDs(ctx context.Context, c *imapconn.Conn, mailbox string, uids []imap.UID, what string) error {
	if _, err := c.Select(ctx, mailbox, false); err != nil {
		return err
	}
	set := imap.UIDSetNum(uids...)
	return c.Do(ctx, what, func() error {
		if err := c.C.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			return err
		}
		_, err := c.C.UIDExpunge(set).Collect()
		return err
	})
}
