package imap

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/transfer"
)

// Delete removes msgs from folder (--delete-source): UID STORE +FLAGS.SILENT
// (\Deleted), then UID EXPUNGE of exactly those UIDs. Without UIDPLUS the
// server can only expunge every \Deleted message of the folder, including
// ones the user marked and wants kept, so Delete refuses.
func (s *Source) Delete(ctx context.Context, folder string, msgs []transfer.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	f := s.folder(folder)
	c, err := s.pool.Get(ctx)
	if err != nil {
		return err
	}
	defer s.pool.Put(c)
	if err := c.RequireUIDPlus(folder); err != nil {
		return err
	}
	var uids imap.UIDSet
	var validity uint32
	for _, m := range msgs {
		v, uid, err := ParseID(m.ID)
		if err != nil {
			return transfer.FatalError(fmt.Errorf("folder %q: %w", folder, err))
		}
		validity = v
		uids.AddNum(uid)
	}
	sel, err := c.Select(ctx, f.server, false)
	if err != nil {
		return fmt.Errorf("folder %q: %w", folder, err)
	}
	if sel.UIDValidity != validity {
		return transfer.FatalError(fmt.Errorf("imap %s: folder %q: UIDVALIDITY changed from %d to %d; not deleting anything",
			c.Options().Server(), folder, validity, sel.UIDValidity))
	}
	defer c.Unselected()
	err = c.Do(ctx, fmt.Sprintf("folder %q: UID STORE +FLAGS (\\Deleted)", folder), func() error {
		return c.C.Store(uids, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	})
	if err != nil {
		return err
	}
	err = c.Do(ctx, fmt.Sprintf("folder %q: UID EXPUNGE", folder), func() error {
		_, err := c.C.UIDExpunge(uids).Collect()
		return err
	})
	// The connection stays in the folder read-write; the deferred
	// Unselected makes the next use open it again (a SELECT or EXAMINE
	// leaves the folder without expunging, unlike CLOSE).
	return err
}
