package transfer

import (
	"context"
	"fmt"
	"time"

	"github.com/mailferry/mailferry/internal/plural"
)

// deleteConfirmed deletes from the source folder the selected messages whose
// copy at the destination is confirmed by content: put by a run (the
// journal's digest is that of the bytes the sink stored) or matched by
// digest. A message matched by its key alone is never deleted. With
// KeepDays, only messages first recorded at least that long ago go. The
// deletions are journaled.
func (r *runner) deleteConfirmed(ctx context.Context, job *folderJob) error {
	if err := r.flushPending(ctx, false); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	name := job.folder.Name
	cutoff := r.now().Add(-time.Duration(r.opts.KeepDays) * 24 * time.Hour)
	var (
		del  []Message
		recs []Record
	)
	unconfirmed := 0
	for _, m := range job.selected {
		rec, ok := r.j.Lookup(r.opts.SourceKey, name, m.ID)
		if !ok {
			continue
		}
		if rec.Digest == "" {
			unconfirmed++
			continue
		}
		if r.opts.KeepDays > 0 && rec.Time.After(cutoff) {
			continue
		}
		del = append(del, m)
		rec.Deleted = true
		recs = append(recs, rec)
	}
	if unconfirmed > 0 {
		r.event(Event{Kind: EventWarning, Folder: name, Count: unconfirmed,
			Text: fmt.Sprintf("%s recorded as copied %s not at the destination any more, or not as %s here; %s not deleted",
				plural.Count(unconfirmed, "message"), plural.Noun(unconfirmed, "is", "are"), plural.Noun(unconfirmed, "it is", "they are"), plural.Noun(unconfirmed, "it was", "they were"))})
	}
	if len(del) == 0 {
		return nil
	}
	err := r.withFetchSlot(ctx, func() error {
		return r.retrier.do(ctx, name, nil, "deleting from the source", func() error {
			return r.deleter.Delete(ctx, name, del)
		})
	})
	if err != nil {
		return fmt.Errorf("deleting %d copied messages from the source: %w", len(del), err)
	}
	if err := r.journal(recs...); err != nil {
		return err
	}
	r.mu.Lock()
	r.sum.Deleted += len(del)
	r.mu.Unlock()
	r.event(Event{Kind: EventDeleted, Folder: name, Count: len(del)})
	return nil
}
