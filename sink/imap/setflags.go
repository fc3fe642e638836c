package imap

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/transfer"
)

var _ transfer.FlagSetter = (*Sink)(nil)

// SetFlags replaces the flags of the messages changes name (by UID) with one
// UID STORE FLAGS.SILENT per distinct set of flags, so a run that carries a
// thousand \Seen costs one command. Flags the folder cannot keep are left out
// as they are on APPEND.
func (s *Sink) SetFlags(ctx context.Context, folder string, changes []transfer.FlagChange) error {
	if len(changes) == 0 {
		return nil
	}
	f := s.folder(folder)
	if err := s.prepare(ctx, f); err != nil {
		return err
	}
	type batch struct {
		flags []imap.Flag
		uids  imap.UIDSet
	}
	var (
		batches []*batch
		bySet   = make(map[string]*batch)
	)
	for _, c := range changes {
		n, err := strconv.ParseUint(c.Ref, 10, 32)
		if err != nil || n == 0 {
			return transfer.FatalError(fmt.Errorf("imap %s: folder %q: %q is not a UID", s.pool.Options().Server(), folder, c.Ref))
		}
		flags := s.flags(f, transfer.Message{Folder: folder, ID: "UID " + c.Ref, Flags: c.Flags})
		names := make([]string, len(flags))
		for i, fl := range flags {
			names[i] = string(fl)
		}
		slices.Sort(names)
		key := strings.Join(names, " ")
		b := bySet[key]
		if b == nil {
			b = &batch{flags: flags}
			bySet[key] = b
			batches = append(batches, b)
		}
		b.uids.AddNum(imap.UID(n))
	}
	c, err := s.pool.Get(ctx)
	if err != nil {
		return err
	}
	defer s.pool.Put(c)
	server := f.serverName()
	if _, err := c.Select(ctx, server, false); err != nil {
		return fmt.Errorf("folder %q: %w", folder, err)
	}
	for _, b := range batches {
		store := &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: b.flags}
		err := c.Do(ctx, fmt.Sprintf("folder %q: UID STORE FLAGS.SILENT", folder), func() error {
			return c.C.Store(b.uids, store, nil).Close()
		})
		if err != nil {
			return err
		}
	}
	return nil
}

var _ transfer.StoredDeleter = (*Sink)(nil)

// DeleteStored removes the messages refs name (UIDs) with UID EXPUNGE of
// exactly those UIDs. Without UIDPLUS it refuses: EXPUNGE would also remove
// other messages marked \Deleted.
func (s *Sink) DeleteStored(ctx context.Context, folder string, refs []string) error {
	uids, err := s.parseRefs(folder, refs)
	if err != nil {
		return err
	}
	if len(uids) == 0 {
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
	server := f.serverName()
	return expungeUIDs(ctx, c, server, uids, fmt.Sprintf("folder %q: deleting %d copies of messages gone from the source", folder, len(uids)))
}

// parseRefs reads FolderIndex refs of folder, which are UIDs.
func (s *Sink) parseRefs(folder string, refs []string) ([]imap.UID, error) {
	var uids []imap.UID
	for _, r := range refs {
		n, err := strconv.ParseUint(r, 10, 32)
		if err != nil || n == 0 {
			return nil, transfer.FatalError(fmt.Errorf("imap %s: folder %q: %q is not a UID", s.pool.Options().Server(), folder, r))
		}
		uids = append(uids, imap.UID(n))
	}
	return uids, nil
}
