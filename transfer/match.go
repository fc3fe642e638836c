package transfer

import (
	"context"
	"fmt"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/plural"
)

// match decides, for the entries of one destination group, which messages
// the destination already holds. It works in two steps (the identity rules
// of docs/architecture.md):
//
//  1. Identity keys (formats.IdentityKey, from header fields) find
//     candidates. A key held by no destination message means copy. A key
//     held by exactly one source message and exactly one destination message
//     of agreeing size is a match without reading a body, except with
//     --delete-source, which deletes nothing on a key alone.
//  2. Every other key is ambiguous, and content digests decide: per digest,
//     the destination's copies are assigned to the source messages, those the
//     journal records first; a source message left without a copy is copied.
//
// A destination message counts once, whichever source put it there; two
// identical copies in the source need two at the destination.
func (r *runner) match(ctx context.Context, g *destGroup, entries []*planEntry, idx FolderIndex) error {
	dstByKey := make(map[string][]StoredMessage)
	for _, m := range idx.Messages {
		dstByKey[m.Key] = append(dstByKey[m.Key], m)
	}
	r.recopyMissing(g, entries, dstByKey)
	if len(idx.Messages) == 0 {
		for _, e := range entries {
			e.copy = e.copy || !e.known
		}
		return nil
	}
	if err := r.learnKeys(ctx, entries); err != nil {
		return err
	}
	srcByKey := make(map[string][]*planEntry)
	var keys []string
	for _, e := range entries {
		if e.msg.Key == "" {
			// Its key could not be learnt (it vanished meanwhile):
			// the fetch reports it.
			e.copy = !e.known
			continue
		}
		if srcByKey[e.msg.Key] == nil {
			keys = append(keys, e.msg.Key)
		}
		srcByKey[e.msg.Key] = append(srcByKey[e.msg.Key], e)
	}

	var ambiguous []string
	for _, k := range keys {
		var unknown, known, unconfirmed []*planEntry
		for _, e := range srcByKey[k] {
			switch {
			case !e.known:
				unknown = append(unknown, e)
			default:
				known = append(known, e)
				if e.digest == "" {
					unconfirmed = append(unconfirmed, e)
				}
			}
		}
		deleting := r.deleter != nil
		if len(unknown) == 0 && (!deleting || len(unconfirmed) == 0) {
			continue
		}
		dst := dstByKey[k]
		switch {
		case len(dst) == 0:
			for _, e := range unknown {
				e.copy = true
			}
		case !deleting && len(dst) <= len(known):
			// Every destination copy with this key is accounted for by
			// a message the journal knows.
			for _, e := range unknown {
				e.copy = true
			}
		case !deleting && len(unknown) == 1 && len(known) == 0 && len(dst) == 1 &&
			formats.SizesAgree(unknown[0].msg.VirtualSize, dst[0].VirtualSize):
			unknown[0].held = true
			unknown[0].dst = &dst[0]
		default:
			ambiguous = append(ambiguous, k)
		}
	}
	if len(ambiguous) == 0 {
		return nil
	}
	return r.matchDigests(ctx, g, ambiguous, srcByKey, dstByKey)
}

// learnKeys fills in the identity keys the listing and the journal did not
// give: from the source's Keyer when it has one, else by reading the
// bodies (cheap for the local stores that lack a Keyer).
func (r *runner) learnKeys(ctx context.Context, entries []*planEntry) error {
	var need []*planEntry
	for _, e := range entries {
		if e.msg.Key == "" {
			need = append(need, e)
		}
	}
	if len(need) == 0 {
		return nil
	}
	if r.keyer == nil {
		return r.probe(ctx, need)
	}
	jobs, groups := byJob(need)
	for _, job := range jobs {
		es := groups[job]
		msgs := make([]Message, len(es))
		for i, e := range es {
			msgs[i] = *e.msg
		}
		var keys map[string]string
		err := r.withFetchSlot(ctx, func() error {
			return r.retrier.do(ctx, job.folder.Name, nil, "reading message headers", func() error {
				var err error
				keys, err = r.keyer.Keys(ctx, job.folder.Name, msgs)
				return err
			})
		})
		if err != nil {
			return &MessageError{Folder: job.folder.Name, Err: fmt.Errorf("reading message headers: %w", err)}
		}
		for _, e := range es {
			e.msg.Key = keys[e.msg.ID]
		}
	}
	return nil
}

// matchDigests settles ambiguous keys by content digest.
func (r *runner) matchDigests(ctx context.Context, g *destGroup, keys []string, srcByKey map[string][]*planEntry, dstByKey map[string][]StoredMessage) error {
	var probe []*planEntry
	var refs []string
	for _, k := range keys {
		for _, e := range srcByKey[k] {
			if e.digest == "" {
				probe = append(probe, e)
			}
		}
		for _, m := range dstByKey[k] {
			refs = append(refs, m.Ref)
		}
	}
	if err := r.probe(ctx, probe); err != nil {
		return err
	}
	dstDigests, err := r.readDigests(ctx, g.dest, refs)
	if err != nil {
		return err
	}
	for _, k := range keys {
		have := make(map[string][]*StoredMessage)
		for i, m := range dstByKey[k] {
			if d, ok := dstDigests[m.Ref]; ok {
				have[d] = append(have[d], &dstByKey[k][i])
			}
		}
		// Known messages first: their copies were made by this source.
		var order []*planEntry
		for _, e := range srcByKey[k] {
			if e.known {
				order = append(order, e)
			}
		}
		for _, e := range srcByKey[k] {
			if !e.known {
				order = append(order, e)
			}
		}
		for _, e := range order {
			if e.digest == "" {
				// Not delivered by the probe: the fetch reports it.
				e.copy = !e.known
				continue
			}
			if copies := have[e.digest]; len(copies) > 0 {
				have[e.digest] = copies[1:]
				e.confirmed = true
				if !e.known {
					e.held, e.dst = true, copies[0]
				}
				continue
			}
			if !e.known {
				e.copy = true
			}
		}
	}
	return nil
}

// recopyMissing marks for copying the messages the journal records as
// copied whose key no destination message has: the destination was emptied,
// replaced or pruned since, and "recorded" must not mean "lost". Only with
// an Indexer, whose index is the evidence; the known messages are then
// treated as new ones.
func (r *runner) recopyMissing(g *destGroup, entries []*planEntry, dstByKey map[string][]StoredMessage) {
	if r.indexer == nil || !g.shrank {
		// Only a destination known to have lost messages is searched for
		// them: a server that rewrites what makes the key (one that adds
		// a Message-ID) must not get its copies again on every run.
		return
	}
	missing := make(map[*folderJob]int)
	for _, e := range entries {
		if e.known && e.msg.Key != "" && len(dstByKey[e.msg.Key]) == 0 {
			e.known, e.copy = false, true
			missing[e.job]++
		}
	}
	for job, n := range missing {
		r.event(Event{Kind: EventWarning, Folder: job.folder.Name, Count: n,
			Text: fmt.Sprintf("%s the state file records as copied %s not in %q any more (it was emptied, replaced or pruned); %s copied again",
				plural.Count(n, "message"), plural.Noun(n, "is", "are"), g.dest, plural.Noun(n, "it is", "they are"))})
	}
}
