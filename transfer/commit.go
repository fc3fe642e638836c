package transfer

import (
	"context"
	"fmt"
)

// put stores one message and passes it on to be committed. It always
// releases the spool. It reports whether it handed the item on; whoever
// holds the item last marks it done in its folder's inFlight.
func (r *runner) put(ctx context.Context, it *item) bool {
	defer it.sp.close()
	if ctx.Err() != nil {
		return false
	}
	job, m := it.job, it.msg
	// The copy is the spooled bytes, so its digest confirms it by content:
	// --delete-source may delete the source message once this record is
	// durable.
	it.rec = Record{
		Source: r.opts.SourceKey,
		Folder: job.folder.Name,
		ID:     m.ID,
		Key:    it.sp.key(),
		Digest: it.sp.contentDigest(),
		Dest:   job.dest,
		Time:   r.now().UTC(),
		Flags:  flagSet(m.Flags),
		Copied: true,
	}
	dm := m
	dm.Folder = job.dest
	if err := r.opts.Messages.Wait(ctx, 1); err != nil {
		return false
	}
	// A message being stored when the run stops is finished (see
	// putGrace); nothing new is started, as retrier.do watches ctx.
	pctx, pcancel := withGrace(ctx, putGrace)
	defer pcancel()
	err := r.retrier.do(ctx, job.folder.Name, &m, "storing", func() error {
		return r.dst.Put(pctx, dm, it.sp)
	})
	if err != nil {
		switch {
		case ctx.Err() != nil:
			// Interrupted: neither copied nor failed.
		case ClassOf(err) == PerMessage:
			r.failStored(job, m, job.dest, it.sp.subject(), err)
		default:
			r.fail(&MessageError{Folder: job.folder.Name, ID: m.ID, Dest: job.dest, Subject: it.sp.subject(), Err: cause(err)})
		}
		return false
	}
	if r.flusher == nil {
		r.commits <- it
		return true
	}
	r.batchMu.Lock()
	r.batch = append(r.batch, it)
	r.batchBytes += m.Size
	full := r.batchFull()
	r.batchMu.Unlock()
	if full {
		if err := r.flushPending(ctx, true); err != nil {
			r.fail(err)
		}
	}
	return false
}

// commitLoop journals durable messages, as many as are waiting with one
// fsync, so the put workers go on while the journal syncs. It is the one
// group commit of the pipeline: a Flusher's batches are journaled by
// flushPending, which the journal's own group commit joins.
func (r *runner) commitLoop(ctx context.Context) {
	for it := range r.commits {
		group := []*item{it}
	more:
		for len(group) < commitQueue {
			select {
			case it, ok := <-r.commits:
				if !ok {
					break more
				}
				group = append(group, it)
			default:
				break more
			}
		}
		r.commitGroup(group)
		for _, it := range group {
			it.job.inFlight.Done()
		}
	}
}

// commitGroup journals durable messages and counts them as copied.
func (r *runner) commitGroup(group []*item) error {
	recs := make([]Record, len(group))
	for i, it := range group {
		recs[i] = it.rec
	}
	if err := r.journal(recs...); err != nil {
		r.fail(err)
		return err
	}
	for _, it := range group {
		r.copied(it)
	}
	return nil
}

// batchFull reports whether the batch should be flushed; batchMu is held.
func (r *runner) batchFull() bool {
	return len(r.batch) >= flushEvery || r.batchBytes >= flushBytes
}

// flushPending makes the Flusher sink's buffered messages durable and then
// journals them. Only messages whose Put returned before Flush was called
// are journaled. With onlyFull, it does nothing unless the batch is (still)
// full: another worker may have flushed it meanwhile.
func (r *runner) flushPending(ctx context.Context, onlyFull bool) error {
	if r.flusher == nil {
		return nil
	}
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.batchMu.Lock()
	if onlyFull && !r.batchFull() {
		r.batchMu.Unlock()
		return nil
	}
	batch := r.batch
	r.batch, r.batchBytes = nil, 0
	r.batchMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := r.retrier.do(ctx, "", nil, "flushing the destination", func() error {
		return r.flusher.Flush(ctx)
	})
	if err != nil {
		return FatalError(fmt.Errorf("flushing the destination: %w", err))
	}
	return r.commitGroup(batch)
}

// journal appends records; without a journal it does nothing.
func (r *runner) journal(recs ...Record) error {
	if r.j == nil || len(recs) == 0 {
		return nil
	}
	if err := r.j.Append(recs...); err != nil {
		return FatalError(err)
	}
	return nil
}
