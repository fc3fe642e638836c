package imap

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/transfer"
)

var _ transfer.Mover = (*Sink)(nil)

// CanMove reports whether the server has MOVE (RFC 6851) and UIDPLUS, so
// exactly the given UIDs move, atomically; without them a moved message is
// copied to its new folder and its old copy deleted.
func (s *Sink) CanMove() bool {
	caps := s.pool.Info().Caps
	return (caps.Has(imap.CapMove) && caps.Has(imap.CapUIDPlus)) || caps.Has(imap.CapIMAP4rev2)
}

// MoveStored moves the messages with the UIDs refs from folder from to
// folder to (created, with its parents, when missing) with UID MOVE.
func (s *Sink) MoveStored(ctx context.Context, from string, refs []string, to string) error {
	uids, err := s.parseRefs(from, refs)
	if err != nil {
		return err
	}
	if len(uids) == 0 {
		return nil
	}
	dst := s.folder(to)
	if err := s.prepare(ctx, dst); err != nil {
		return err
	}
	src := s.folder(from)
	src.mu.Lock()
	fromServer := src.server
	src.mu.Unlock()
	dst.mu.Lock()
	toServer := dst.server
	dst.mu.Unlock()
	c, err := s.pool.Get(ctx)
	if err != nil {
		return err
	}
	defer s.pool.Put(c)
	if _, err := c.Select(ctx, fromServer, false); err != nil {
		return err
	}
	return c.Do(ctx, fmt.Sprintf("folder %q: UID MOVE of %d messages to %q", from, len(uids), to), func() error {
		_, err := c.C.Move(imap.UIDSetNum(uids...), toServer).Wait()
		return err
	})
}
