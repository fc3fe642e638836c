package transfer

import (
	"context"
	"fmt"
	"slices"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/plural"
)

// flagSet is flags normalised and never nil, so a journal record says "no
// flags" ([]) apart from "flags not recorded" (null, older versions).
func flagSet(flags []string) []string {
	out := formats.NormalizeFlags(flags)
	if out == nil {
		out = []string{}
	}
	return out
}

// sameFlags compares two flag sets whatever their order and spelling.
func sameFlags(a, b []string) bool {
	return slices.Equal(formats.NormalizeFlags(a), formats.NormalizeFlags(b))
}

// syncFlags carries the changed flags of messages copied earlier (and of
// messages found at the destination with other flags) to their copies, when
// Options.SyncFlags is set and the sink is a FlagSetter. A message the
// journal knows is checked against the flags recorded when they were last
// carried, so an unchanged mailbox costs nothing; only a group with changes
// reads the destination's index to find the copies. A copy is found by its
// identity key when exactly one source and one destination message of the
// group have that key; other changes are reported, not guessed at.
func (r *runner) syncFlags(ctx context.Context, g *destGroup, entries []*planEntry, idx FolderIndex, indexed bool) error {
	fs, ok := r.dst.(FlagSetter)
	if !r.opts.SyncFlags || !ok {
		return nil
	}
	var changedKnown []*planEntry
	for _, e := range entries {
		if e.known && (e.recFlags == nil || !sameFlags(e.recFlags, e.msg.Flags)) {
			changedKnown = append(changedKnown, e)
		}
	}
	if len(changedKnown) > 0 && !indexed && r.indexer != nil {
		var err error
		if idx, err = r.readIndex(ctx, g.dest); err != nil {
			return err
		}
	}
	srcKeys := make(map[string]int)
	for _, e := range entries {
		if e.msg.Key != "" {
			srcKeys[e.msg.Key]++
		}
	}
	dstByKey := make(map[string][]*StoredMessage)
	for i := range idx.Messages {
		m := &idx.Messages[i]
		dstByKey[m.Key] = append(dstByKey[m.Key], m)
	}
	var (
		changes   []FlagChange
		changed   = make(map[*folderJob]int)
		ambiguous = make(map[*folderJob]int)
		pending   []*planEntry
	)
	consider := func(e *planEntry, copy *StoredMessage) {
		want := flagSet(e.msg.Flags)
		if copy.Flags != nil && !sameFlags(copy.Flags, want) {
			changes = append(changes, FlagChange{Ref: copy.Ref, Flags: want})
			changed[e.job]++
			pending = append(pending, e)
			return
		}
		e.flagsSynced = true
	}
	for _, e := range changedKnown {
		key := e.msg.Key
		if key == "" || srcKeys[key] != 1 || len(dstByKey[key]) != 1 {
			if len(dstByKey[key]) > 0 {
				ambiguous[e.job]++
			}
			continue
		}
		consider(e, dstByKey[key][0])
	}
	for _, e := range entries {
		if e.held && e.dst != nil {
			consider(e, e.dst)
		}
	}
	for job, n := range ambiguous {
		r.event(Event{Kind: EventWarning, Folder: job.folder.Name, Count: n,
			Text: fmt.Sprintf("the flags of %s changed, but the copies in %q cannot be told apart by their headers; the flags were not carried over", plural.Count(n, "message"), job.dest)})
	}
	if len(changes) == 0 {
		return nil
	}
	if !r.opts.DryRun {
		err := r.withFetchSlot(ctx, func() error {
			return r.retrier.do(ctx, g.dest, nil, "changing flags", func() error {
				return fs.SetFlags(ctx, g.dest, changes)
			})
		})
		if err != nil {
			return FatalError(fmt.Errorf("destination folder %q: changing the flags of %s: %w", g.dest, plural.Count(len(changes), "message"), err))
		}
		for _, e := range pending {
			e.flagsSynced = true
		}
		r.mu.Lock()
		r.sum.FlagsSynced += len(changes)
		r.mu.Unlock()
	}
	for _, job := range g.jobs {
		if n := changed[job]; n > 0 {
			r.event(Event{Kind: EventFlagsSynced, Folder: job.folder.Name, Count: n, Text: job.dest})
		}
	}
	return nil
}
