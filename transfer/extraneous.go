package transfer

import (
	"context"
	"fmt"
)

// goneFromSource returns, with --delete-extraneous and a StoredDeleter sink,
// the journal records of messages a run copied into g's destination folder
// that are no longer listed in their source folder (deleted there, or moved
// away), and whose copies are still there.
func (r *runner) goneFromSource(g *destGroup, listed map[*folderJob][]Message) []Record {
	if !r.opts.DeleteExtraneous || r.j == nil {
		return nil
	}
	if _, ok := r.dst.(StoredDeleter); !ok {
		return nil
	}
	var gone []Record
	for _, job := range g.jobs {
		here := make(map[string]bool, len(listed[job]))
		for _, m := range listed[job] {
			here[m.ID] = true
		}
		for _, rec := range r.j.FolderRecords(r.opts.SourceKey, job.folder.Name) {
			if rec.Copied && !rec.Deleted && !rec.CopyDeleted && rec.Dest == g.dest && !here[rec.ID] && rec.Digest != "" {
				gone = append(gone, rec)
			}
		}
	}
	return gone
}

// deleteExtraneous deletes the copies of gone messages from the destination
// folder, or moves them where the plan would copy the same message, moved
// at the source (moves.go). A copy is deleted only when its content digest is that of the
// message the run copied, and only as many copies of that content as the
// source no longer needs: a message still in the source (another identical
// copy, the same message moved back) keeps its copy. A message mailferry did
// not copy is never deleted.
func (r *runner) deleteExtraneous(ctx context.Context, g *destGroup, entries []*planEntry, idx FolderIndex, gone []Record) error {
	if len(gone) == 0 {
		return nil
	}
	sd := r.dst.(StoredDeleter)
	keys := make(map[string]bool)
	for _, rec := range gone {
		keys[rec.Key] = true
	}
	var refs []string
	for _, m := range idx.Messages {
		if keys[m.Key] {
			refs = append(refs, m.Ref)
		}
	}
	if len(refs) == 0 {
		return nil // the copies are gone already
	}
	var probe []*planEntry
	for _, e := range entries {
		if keys[e.msg.Key] && e.digest == "" {
			probe = append(probe, e)
		}
	}
	if err := r.probe(ctx, probe); err != nil {
		return err
	}
	dstDigests, err := r.readDigests(ctx, g.dest, refs)
	if err != nil {
		return err
	}
	copies := make(map[string][]string) // digest → refs at the destination
	for _, ref := range refs {
		if d, ok := dstDigests[ref]; ok {
			copies[d] = append(copies[d], ref)
		}
	}
	for _, e := range entries {
		if keys[e.msg.Key] && e.digest != "" && !e.copy && len(copies[e.digest]) > 0 {
			copies[e.digest] = copies[e.digest][1:] // still needed by the source
		}
	}
	var (
		del      []string
		recs     []Record
		moves    []move
		byFolder = make(map[string]int)
	)
	for _, rec := range gone {
		left := copies[rec.Digest]
		if len(left) == 0 {
			continue
		}
		copies[rec.Digest] = left[1:]
		partner, err := r.movePartner(ctx, g, rec)
		if err != nil {
			return err
		}
		if partner != nil {
			partner.moved = true
			moves = append(moves, move{ref: left[0], rec: rec, e: partner})
			continue
		}
		del = append(del, left[0])
		rec.CopyDeleted = true
		recs = append(recs, rec)
		byFolder[rec.Folder]++
	}
	if err := r.moveCopies(ctx, g, moves); err != nil {
		return err
	}
	if len(del) == 0 {
		return nil
	}
	if !r.opts.DryRun {
		err := r.withFetchSlot(ctx, func() error {
			return r.retrier.do(ctx, g.dest, nil, "deleting copies of messages gone from the source", func() error {
				return sd.DeleteStored(ctx, g.dest, del)
			})
		})
		if err != nil {
			return FatalError(fmt.Errorf("destination folder %q: deleting %d copies of messages gone from the source: %w", g.dest, len(del), err))
		}
		if err := r.journal(recs...); err != nil {
			return err
		}
		r.mu.Lock()
		r.sum.DestDeleted += len(del)
		r.mu.Unlock()
	}
	for folder, n := range byFolder {
		r.event(Event{Kind: EventExtraneous, Folder: folder, Count: n, Text: g.dest})
	}
	return nil
}
