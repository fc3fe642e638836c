package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ErrSameMailbox is returned when --delete-source would delete from the very
// mailbox it copies into, reached under a second name: a second host name
// for one server, a symlink to one folder. Nothing is deleted.
var ErrSameMailbox = errors.New("the source and the destination are the same mailbox")

// planEntry is one selected source message in the plan of a destination
// group. Its pointers and strings come first and its flags last, so that
// it takes 72 bytes, not 96: the plan holds one per listed message.
type planEntry struct {
	job *folderJob
	msg *Message // in the folder's listing, which the plan holds anyway
	// What the plan needs of its record, when known (not the whole
	// Record, which would double the entry's size): the flags last
	// carried to the copy (nil in records of older versions), and
	// (recConfirmed) whether the copy was confirmed by content.
	recFlags []string
	// The identity key and the size with CRLF line ends are msg.Key and
	// msg.VirtualSize, filled in there when the plan learns them.
	digest string // formats.ContentDigest, "" until learnt
	// dst is the destination copy a held message was matched to.
	dst *StoredMessage

	known        bool // the journal records it as copied
	recConfirmed bool
	// decision, made by match: copy it, or it is already at the
	// destination (held, by key alone or confirmed by digest).
	copy      bool
	held      bool
	confirmed bool
	// flagsSynced: the copy has the source's flags after this plan
	// (flagSet(msg.Flags)), which the journal records.
	flagsSynced bool
	// moved: the copy of the message at its old place was moved to this
	// message's destination folder (moves.go); nothing is copied.
	moved bool
}

// planGroup lists every source folder of g, applies the filters and the
// journal, reads the destination folder's index and decides, for every
// message the journal does not know, whether it is to be copied. It fetches
// a body only where identity keys are ambiguous (or, for a source without
// Keyer, to learn its key), never one it is sure it will skip.
func (r *runner) planGroup(ctx context.Context, g *destGroup) error {
	if skip, err := r.unchangedGroup(ctx, g); err != nil || skip {
		return err
	}
	var (
		entries []*planEntry
		unknown int
		listed  = make(map[*folderJob][]Message)
	)
	jobs := g.jobs[:0:0]
	for _, job := range g.jobs {
		msgs, err := r.list(ctx, job)
		if err != nil {
			// A folder that cannot be listed fails alone; the
			// others of the group are planned.
			if err := r.folderFailed(ctx, job, err); err != nil {
				return err
			}
			continue
		}
		jobs = append(jobs, job)
		listed[job] = msgs
		filtered, known := 0, 0
		seen := make(map[string]bool, len(msgs))
		for i := range msgs {
			// The entry points into the listing, which is held until
			// the plan is done anyway: a copy would double it.
			m := &msgs[i]
			m.Folder = job.folder.Name
			// Identity is what keeps a message from being copied twice; a
			// source that cannot give one gets the message reported, not
			// guessed at.
			switch {
			case m.ID == "":
				r.failMessage(job, *m, PerMessageError(errors.New("the source gave the message no identity")))
				continue
			case seen[m.ID]:
				r.failMessage(job, *m, PerMessageError(fmt.Errorf("the source lists message id %s twice", m.ID)))
				continue
			}
			seen[m.ID] = true
			if !r.sel.message(*m) {
				filtered++
				continue
			}
			job.selectedCount++
			if r.deleter != nil {
				job.selected = append(job.selected, *m)
			}
			e := &planEntry{job: job, msg: m}
			if r.j != nil {
				if rec, ok := r.j.Lookup(r.opts.SourceKey, job.folder.Name, m.ID); ok {
					e.known, e.recFlags, e.recConfirmed, e.digest = true, rec.Flags, rec.Digest != "", rec.Digest
					if m.Key == "" {
						m.Key = rec.Key
					}
					known++
				}
			}
			if !e.known {
				unknown++
			}
			entries = append(entries, e)
		}
		r.filtered(job, filtered, nil)
		if r.j != nil && known == 0 && job.selectedCount > 0 {
			if n := r.j.FolderLen(r.opts.SourceKey, job.folder.Name); n > 0 {
				r.event(Event{Kind: EventWarning, Folder: job.folder.Name, Count: n,
					Text: fmt.Sprintf("none of the %d messages the state file records for this folder is listed any more: "+
						"the folder was renumbered (UIDVALIDITY changed) or recreated; messages are matched by identity instead", n)})
			}
		}
	}

	g.jobs = jobs
	gone := r.goneFromSource(g, listed)
	needsDest := unknown > 0 || r.deleter != nil || len(gone) > 0
	if known := len(entries) - unknown; known > 0 {
		// A destination that holds fewer messages than the journal says
		// were copied into it was emptied, replaced or pruned since: it is
		// read, and what is missing is copied again.
		var err error
		if g.shrank, err = r.destShrank(ctx, g, known); err != nil {
			return err
		}
		needsDest = needsDest || g.shrank
	}
	var idx FolderIndex
	if needsDest && r.indexer != nil {
		var err error
		if idx, err = r.readIndex(ctx, g.dest); err != nil {
			return err
		}
	}
	if r.deleter != nil {
		if err := r.sameMailbox(ctx, g, idx, listed); err != nil {
			return err
		}
	}
	if needsDest {
		if err := r.match(ctx, g, entries, idx); err != nil {
			return err
		}
	}
	if err := r.syncFlags(ctx, g, entries, idx, needsDest); err != nil {
		return err
	}
	g.plan = &groupPlan{entries: entries, idx: idx, gone: gone}
	return nil
}

// finishGroups ends the plan once every group is planned: first the copies
// of messages gone from the source are moved to where the source moved
// them, or deleted (--delete-extraneous), then every group's decisions
// become its todo lists. A move takes a message off another group's list,
// so no list is made before all moves are decided.
func (r *runner) finishGroups(ctx context.Context, groups []*destGroup) {
	r.moves = r.moveCandidates(groups)
	phase := func(do func(g *destGroup) error) {
		for _, g := range groups {
			if g.failed || g.plan == nil || ctx.Err() != nil {
				continue
			}
			if err := do(g); err != nil {
				if err := r.groupFailed(ctx, g, err); err != nil {
					r.fail(err)
				}
				g.failed = true
			}
		}
	}
	phase(func(g *destGroup) error {
		return r.deleteExtraneous(ctx, g, g.plan.entries, g.plan.idx, g.plan.gone)
	})
	phase(func(g *destGroup) error { return r.finishPlan(g, g.plan.entries) })
	r.moves = nil
	// The plan's entries and the destination index are a few hundred
	// bytes a message; once they are todo lists nothing reads them, and
	// keeping them would make the copy's memory grow with the mailbox.
	for _, g := range groups {
		g.plan = nil
	}
}

// list lists one source folder, holding a fetch slot.
func (r *runner) list(ctx context.Context, job *folderJob) ([]Message, error) {
	name := job.folder.Name
	var msgs []Message
	err := r.withFetchSlot(ctx, func() error {
		return r.retrier.do(ctx, name, nil, "listing", func() error {
			var err error
			msgs, err = r.src.List(ctx, name)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	return msgs, nil
}

// sameMailbox refuses a group whose destination folder is one of its source
// folders under another name.
func (r *runner) sameMailbox(ctx context.Context, g *destGroup, idx FolderIndex, listed map[*folderJob][]Message) error {
	if idx.Identity == "" || r.identifier == nil {
		return nil
	}
	for _, job := range g.jobs {
		id, err := r.identifier.MailboxIdentity(ctx, job.folder.Name, listed[job])
		if err != nil {
			return &MessageError{Folder: job.folder.Name, Err: err}
		}
		if id == idx.Identity {
			return fmt.Errorf("--delete-source: source folder %q and destination folder %q hold the same messages under the same "+
				"identity (%s): %w; nothing was deleted. Check that the destination is not the source under a second name "+
				"(another host name or address for the same server, a symlink)", job.folder.Name, g.dest, id, ErrSameMailbox)
		}
	}
	return nil
}

// finishPlan turns the decisions into each folder's todo list, journals what
// was found already at the destination and reports the plan.
func (r *runner) finishPlan(g *destGroup, entries []*planEntry) error {
	var recs []Record
	type tally struct {
		known, held, moved int
		bytes              int64
	}
	counts := make(map[*folderJob]*tally)
	for _, job := range g.jobs {
		counts[job] = &tally{}
	}
	for i, e := range entries {
		// Nothing reads an entry once it is decided, and the todo list
		// grows as the entries are read: dropped one by one, they make
		// room for it instead of being held beside it to the end.
		entries[i] = nil
		t := counts[e.job]
		switch {
		case e.moved:
			t.moved++
		case e.known:
			t.known++
			if (e.confirmed && !e.recConfirmed) || e.flagsSynced {
				recs = append(recs, r.record(e))
			}
		case e.held:
			t.held++
			recs = append(recs, r.record(e))
		default:
			e.job.addTodo(*e.msg, r.opts.ChunkSize)
			t.bytes += e.msg.Size
		}
	}
	if !r.opts.DryRun {
		if err := r.journal(recs...); err != nil {
			return err
		}
	}
	for _, job := range g.jobs {
		t := counts[job]
		job.startLargeFirst()
		r.folderSeen(job)
		r.skipped(job, t.known, "already copied")
		r.skipped(job, t.held, "already at destination")
		r.skipped(job, t.moved, "moved at the destination")
		r.event(Event{Kind: EventPlanned, Folder: job.folder.Name, Count: job.todoCount, Bytes: t.bytes, Text: job.dest})
		if r.opts.DryRun {
			for _, chunk := range job.todo {
				for i := range chunk {
					r.event(Event{Kind: EventPlanMessage, Folder: job.folder.Name, Message: &chunk[i], Bytes: chunk[i].Size, Text: job.dest})
				}
			}
		}
	}
	return nil
}

// record is the journal record of a message found at the destination.
func (r *runner) record(e *planEntry) Record {
	rec := Record{
		Source: r.opts.SourceKey,
		Folder: e.job.folder.Name,
		ID:     e.msg.ID,
		Key:    e.msg.Key,
		Dest:   e.job.dest,
		Time:   r.now().UTC(),
	}
	if e.confirmed {
		rec.Digest = e.digest
	}
	if e.flagsSynced {
		rec.Flags = flagSet(e.msg.Flags)
	}
	return rec
}

// withFetchSlot runs fn holding one of the source's connections.
func (r *runner) withFetchSlot(ctx context.Context, fn func() error) error {
	select {
	case r.fetchSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.fetchSem }()
	return fn()
}

// probe learns key, size and digest of entries by fetching their bodies and
// discarding them: for a source without Keyer, and to settle ambiguous keys.
func (r *runner) probe(ctx context.Context, entries []*planEntry) error {
	jobs, groups := byJob(entries)
	for _, job := range jobs {
		es := groups[job]
		byID := make(map[string]*planEntry, len(es))
		msgs := make([]Message, len(es))
		for i, e := range es {
			byID[e.msg.ID] = e
			msgs[i] = *e.msg
		}
		for start := 0; start < len(msgs); start += r.opts.ChunkSize {
			chunk := msgs[start:min(start+r.opts.ChunkSize, len(msgs))]
			err := r.withFetchSlot(ctx, func() error {
				return r.fetchLoop(ctx, job, chunk, func(m Message, body io.Reader) error {
					key, digest, vsize, err := digestBody(body)
					if err != nil {
						return err
					}
					e := byID[m.ID]
					e.msg.Key, e.digest, e.msg.VirtualSize = key, digest, vsize
					return nil
				})
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// digestBody reads a body to its end and returns its identity key, content
// digest and size with CRLF line ends.
func digestBody(body io.Reader) (key, digest string, vsize int64, err error) {
	d := newBodyDigest()
	if _, err := io.Copy(d, body); err != nil {
		return "", "", 0, err
	}
	key, digest, vsize = d.sum()
	return key, digest, vsize, nil
}

// readIndex reads what destination folder dest holds, holding a fetch slot.
func (r *runner) readIndex(ctx context.Context, dest string) (FolderIndex, error) {
	var idx FolderIndex
	err := r.withFetchSlot(ctx, func() error {
		return r.retrier.do(ctx, dest, nil, "reading the destination folder", func() error {
			var err error
			idx, err = r.indexer.Index(ctx, dest)
			return err
		})
	})
	if err != nil {
		return idx, FatalError(fmt.Errorf("destination folder %q: reading what it holds: %w", dest, err))
	}
	return idx, nil
}

// readDigests reads the content digests of the destination messages refs
// name, holding a fetch slot.
func (r *runner) readDigests(ctx context.Context, dest string, refs []string) (map[string]string, error) {
	var digests map[string]string
	err := r.withFetchSlot(ctx, func() error {
		return r.retrier.do(ctx, dest, nil, "reading destination messages", func() error {
			var err error
			digests, err = r.indexer.Digests(ctx, dest, refs)
			return err
		})
	})
	if err != nil {
		return nil, FatalError(fmt.Errorf("destination folder %q: reading messages to compare: %w", dest, err))
	}
	return digests, nil
}

// byJob groups plan entries by their source folder, in the order the
// folders first appear.
func byJob(entries []*planEntry) ([]*folderJob, map[*folderJob][]*planEntry) {
	groups := make(map[*folderJob][]*planEntry)
	var jobs []*folderJob
	for _, e := range entries {
		if groups[e.job] == nil {
			jobs = append(jobs, e.job)
		}
		groups[e.job] = append(groups[e.job], e)
	}
	return jobs, groups
}

// destShrank reports whether g's destination folder holds fewer messages
// than the n the journal records for it, when the sink can count them
// cheaply (MessageCounter).
func (r *runner) destShrank(ctx context.Context, g *destGroup, n int) (bool, error) {
	mc, ok := r.dst.(MessageCounter)
	if !ok || r.indexer == nil {
		return false, nil
	}
	var count int
	err := r.withFetchSlot(ctx, func() error {
		return r.retrier.do(ctx, g.dest, nil, "counting the destination's messages", func() error {
			var err error
			count, err = mc.MessageCount(ctx, g.dest)
			return err
		})
	})
	if err != nil {
		return false, FatalError(fmt.Errorf("destination folder %q: counting its messages: %w", g.dest, err))
	}
	return count >= 0 && count < n, nil
}
