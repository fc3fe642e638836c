package transfer

import (
	"context"
	"fmt"
	"slices"

	"github.com/mailferry/mailferry/formats"
)

// Mover is an add-on interface for Sink: a store that can move stored
// messages between its folders, so a message the user moved at the source
// is moved at the destination too, not stored a second time. MoveStored
// moves the copies refs (FolderIndex refs) of folder from into folder to,
// creating it when it is missing. CanMove reports whether the store can
// (an IMAP server needs MOVE and UIDPLUS).
type Mover interface {
	CanMove() bool
	MoveStored(ctx context.Context, from string, refs []string, to string) error
}

// moveIndex holds, by identity key, the messages the plan would copy: a
// message moved between source folders is one of them in its new folder,
// and a gone record in its old one.
type moveIndex struct {
	byKey map[string][]*planEntry
}

// moveCandidates indexes the messages to copy of every planned group, when
// --delete-extraneous may move copies instead of deleting them.
func (r *runner) moveCandidates(groups []*destGroup) *moveIndex {
	if !r.opts.DeleteExtraneous || r.j == nil {
		return nil
	}
	if m, ok := r.dst.(Mover); !ok || !m.CanMove() {
		return nil
	}
	idx := &moveIndex{byKey: map[string][]*planEntry{}}
	for _, g := range groups {
		if g.failed || g.plan == nil {
			continue
		}
		for _, e := range g.plan.entries {
			if !e.known && !e.held && e.msg.Key != "" {
				idx.byKey[e.msg.Key] = append(idx.byKey[e.msg.Key], e)
			}
		}
	}
	return idx
}

// movePartner finds the message a gone record's copy can be moved to: one
// the plan would copy into another destination folder, with the same
// content (its digest learnt by reading it when needed) and the flags the
// copy carries, so that the moved copy is what copying it would store. A
// moved message whose flags changed too is copied instead.
func (r *runner) movePartner(ctx context.Context, g *destGroup, rec Record) (*planEntry, error) {
	if r.moves == nil || rec.Flags == nil {
		return nil, nil
	}
	for _, e := range r.moves.byKey[rec.Key] {
		if e.moved || e.job.dest == g.dest || !slices.Equal(formats.NormalizeFlags(e.msg.Flags), formats.NormalizeFlags(rec.Flags)) {
			continue
		}
		if e.digest == "" {
			if err := r.probe(ctx, []*planEntry{e}); err != nil {
				return nil, err
			}
		}
		if e.digest == rec.Digest {
			return e, nil
		}
	}
	return nil, nil
}

// move is one copy to move: ref in the gone record's destination folder,
// to e's.
type move struct {
	ref string
	rec Record
	e   *planEntry
}

// moveCopies moves copies from g's destination folder to the folders their
// messages are now planned for, and journals each: the old record's copy is
// gone from there, the new one is a copy this run stored.
func (r *runner) moveCopies(ctx context.Context, g *destGroup, moves []move) error {
	if len(moves) == 0 {
		return nil
	}
	byDest := map[string][]move{}
	var dests []string
	for _, m := range moves {
		m.e.moved = true
		if byDest[m.e.job.dest] == nil {
			dests = append(dests, m.e.job.dest)
		}
		byDest[m.e.job.dest] = append(byDest[m.e.job.dest], m)
	}
	if r.opts.DryRun {
		return nil
	}
	mover := r.dst.(Mover)
	for _, dest := range dests {
		ms := byDest[dest]
		refs := make([]string, len(ms))
		var recs []Record
		for i, m := range ms {
			refs[i] = m.ref
			old := m.rec
			old.CopyDeleted = true
			recs = append(recs, old, Record{
				Source: r.opts.SourceKey, Folder: m.e.job.folder.Name, ID: m.e.msg.ID,
				Key: m.e.msg.Key, Digest: m.e.digest, Dest: dest, Time: r.now().UTC(),
				Flags: old.Flags, Copied: true,
			})
		}
		err := r.withFetchSlot(ctx, func() error {
			return r.retrier.do(ctx, g.dest, nil, "moving copies of messages moved at the source", func() error {
				return mover.MoveStored(ctx, g.dest, refs, dest)
			})
		})
		if err != nil {
			return FatalError(fmt.Errorf("destination folder %q: moving %d copies of messages moved at the source to %q: %w", g.dest, len(refs), dest, err))
		}
		if err := r.journal(recs...); err != nil {
			return err
		}
		r.mu.Lock()
		r.sum.Moved += len(refs)
		r.mu.Unlock()
	}
	return nil
}
