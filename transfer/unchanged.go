package transfer

import (
	"context"
)

// unchangedGroup skips g when none of its source folders changed since a
// run copied all of it: each folder's State (Folder.State) is the one its
// folder record holds, for the same destination folder, or differs only in
// flags, which the source then tells (FlagChanges) and syncFlags carries. Then nothing of
// the group is listed or read at either side, except that the destination
// must still hold as many messages as the records say (destShrank), so a
// destination emptied since is noticed. It does not skip when the state
// cannot vouch for what the run would look at: flags that are to be
// carried over but are not covered by the state (no CONDSTORE), message
// filters (changed filters select other messages), --delete-source and
// --delete-extraneous (which act on what is gone), or without a journal.
// A new message, an expunge or a renumbered folder (UIDVALIDITY) changes
// the state; a lost state file has no folder records.
func (r *runner) unchangedGroup(ctx context.Context, g *destGroup) (bool, error) {
	if r.j == nil || r.deleter != nil || r.opts.DeleteExtraneous || len(g.jobs) == 0 ||
		!r.opts.Since.IsZero() || !r.opts.Before.IsZero() || r.opts.MaxSize > 0 {
		return false, nil
	}
	_, setsFlags := r.dst.(FlagSetter)
	flagsMatter := r.opts.SyncFlags && setsFlags
	fc, _ := r.src.(FlagChanges)
	recs := make([]Record, len(g.jobs))
	total := 0
	for i, job := range g.jobs {
		f := job.folder
		if f.State == "" || flagsMatter && !f.StateFlags {
			return false, nil
		}
		rec, ok := r.j.FolderState(r.opts.SourceKey, f.Name)
		if !ok || rec.Dest != g.dest || rec.State != f.State && (fc == nil || !flagsMatter) {
			return false, nil
		}
		recs[i] = rec
		total += rec.Count
	}
	if total > 0 {
		shrank, err := r.destShrank(ctx, g, total)
		if err != nil || shrank {
			return false, err
		}
	}
	entries, ok, err := r.changedFlags(ctx, g, fc, recs)
	if err != nil || !ok {
		return false, err
	}
	if err := r.syncFlags(ctx, g, entries, FolderIndex{}, false); err != nil {
		return false, err
	}
	var synced []Record
	for _, e := range entries {
		if e.flagsSynced && !sameFlags(e.msg.Flags, e.recFlags) {
			synced = append(synced, r.record(e))
		}
	}
	if !r.opts.DryRun {
		if err := r.journal(synced...); err != nil {
			return false, err
		}
	}
	for i, job := range g.jobs {
		job.unchanged = recs[i].State == job.folder.State
		job.flagsOnly = !job.unchanged
		job.count = recs[i].Count
		r.skipped(job, recs[i].Count, "already copied")
		r.event(Event{Kind: EventPlanned, Folder: job.folder.Name, Text: job.dest})
	}
	return true, nil
}

// changedFlags asks the source which messages' flags changed in each folder
// of g whose state differs from its record (recs), and returns plan entries
// for every message the journal records for those folders: the changed
// ones with their new flags, the others with the flags last carried over,
// so syncFlags sees every identity key of the folder and carries only the
// changes. ok is false when a folder must be listed in full instead: the
// source cannot tell (the states differ in more than flags), a changed
// message is not in the journal, or a record predates recorded flags.
func (r *runner) changedFlags(ctx context.Context, g *destGroup, fc FlagChanges, recs []Record) ([]*planEntry, bool, error) {
	var entries []*planEntry
	for i, job := range g.jobs {
		if recs[i].State == job.folder.State {
			continue
		}
		name := job.folder.Name
		var (
			changed []Message
			ok      bool
		)
		err := r.withFetchSlot(ctx, func() error {
			return r.retrier.do(ctx, name, nil, "reading changed flags", func() error {
				var err error
				changed, ok, err = fc.ChangedFlags(ctx, name, recs[i].State, job.folder.State)
				return err
			})
		})
		if err != nil || !ok {
			return nil, false, err
		}
		flags := make(map[string][]string, len(changed))
		for _, m := range changed {
			if _, known := r.j.Lookup(r.opts.SourceKey, name, m.ID); !known {
				return nil, false, nil
			}
			flags[m.ID] = flagSet(m.Flags)
		}
		for _, rec := range r.j.FolderRecords(r.opts.SourceKey, name) {
			if rec.Deleted || rec.CopyDeleted || rec.Dest != g.dest {
				continue
			}
			if rec.Flags == nil {
				return nil, false, nil
			}
			m := Message{Folder: name, ID: rec.ID, Flags: rec.Flags, Key: rec.Key}
			if f, ok := flags[rec.ID]; ok {
				m.Flags = f
			}
			entries = append(entries, &planEntry{job: job, msg: &m, known: true, recFlags: rec.Flags, recConfirmed: rec.Digest != "",
				digest: rec.Digest})
		}
	}
	return entries, true, nil
}

// recordFolders writes a folder record for every source folder that the
// run copied completely: listed and planned, every message it selected at
// the destination, nothing failed, and the run neither stopped nor failed.
// It runs after the last flush, so every message the record covers is
// durable and journaled.
func (r *runner) recordFolders(ctx context.Context, groups []*destGroup) error {
	if r.j == nil || r.opts.DryRun || ctx.Err() != nil {
		return nil
	}
	r.mu.Lock()
	failed := r.firstErr != nil
	r.mu.Unlock()
	if failed {
		return nil
	}
	var recs []Record
	for _, g := range groups {
		if g.failed {
			continue
		}
		for _, job := range g.jobs {
			if job.unchanged || job.folder.State == "" || job.failures.Load() > 0 {
				continue
			}
			count := job.selectedCount
			if job.flagsOnly {
				count = job.count
			}
			recs = append(recs, Record{
				Source: r.opts.SourceKey,
				Folder: job.folder.Name,
				State:  job.folder.State,
				Dest:   job.dest,
				Count:  count,
				Time:   r.now().UTC(),
			})
		}
	}
	return r.journal(recs...)
}
