package transfer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

const (
	// flushEvery and flushBytes bound how much a Flusher sink buffers
	// before Run makes it durable and journals it: 64 messages or 16 MiB
	// keep an fsync (or an IMAP round trip) per batch well below the time
	// the batch took to arrive, and bound what a crash makes a re-run
	// look at again.
	flushEvery = 64
	flushBytes = 16 << 20
	// defaultSpoolMemory is what the spools of a run keep in memory at
	// once by default (Options.SpoolMemory), and maxSpoolBody the largest
	// body one of them keeps there (the largest pooled spool buffer): mail
	// with an attachment of a MiB or two stays in memory, a larger message
	// goes to a temporary file. More memory for the spools made the run's
	// heap reach the soft memory limit and the collector run ten times as
	// often (IMAP → IMAP with 16 MiB and 4 MiB: 771 collections, 4.2 CPU
	// s, against 183 and 2.4 s with these).
	defaultSpoolMemory = 8 << 20
	maxSpoolBody       = 2 << 20
	// spoolMemoryWait is how long a body waits for spool memory before it
	// spills (see spoolMemory): about the time Dovecot takes to answer a
	// MULTIAPPEND of the benchmark (625 commands over 4 connections in 7 s).
	spoolMemoryWait = 50 * time.Millisecond
	// maxWorkQueue bounds the fetched messages waiting for a put worker.
	maxWorkQueue = 8
	// commitQueue bounds the durable messages waiting for the journal; a
	// group commit takes all that wait, so this is also the largest group.
	commitQueue = 1024
	// finalFlushTimeout bounds the flush that makes an interrupted run's
	// last batch durable: long enough for one batch (flushBytes) over a slow
	// link, short enough that a stopped run ends.
	finalFlushTimeout = 2 * time.Minute
)

// Run copies what is new from src to dst: select, plan, fetch, put, commit,
// and with Options.DeleteSource, delete.
//
// The plan decides everything before a body is fetched: per destination
// folder it lists the source folders that land there, drops what the filters
// exclude and what the journal records as copied, reads what the destination
// holds (its Indexer: headers and sizes only) and matches the rest by
// identity (see match.go), so a message already there, whoever put it there,
// is neither fetched nor copied again. Then it streams the bodies to copy
// into bounded spools and puts them with Options.Workers workers. A message
// is journaled only once the sink holds it durably, so an interrupted run
// can always be resumed by running it again.
//
// Per-message failures are counted in the Summary and do not stop the run;
// the first fatal error does, and is returned. When ctx is cancelled, Run
// journals what is already durable and returns an error wrapping ctx.Err().
func Run(ctx context.Context, src Source, dst Sink, opts Options) (Summary, error) {
	start := time.Now()
	r, err := newRunner(src, dst, opts)
	if err != nil {
		return Summary{}, err
	}
	err = r.run(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	sum := r.sum
	sum.Folders = r.folderSummaries()
	if fr, ok := dst.(FolderRenamer); ok {
		if renamed := fr.RenamedFolders(); len(renamed) > 0 {
			sum.Renamed = renamed
		}
	}
	sum.Seconds = time.Since(start).Seconds()
	return sum, err
}

// runner is the state of one Run.
type runner struct {
	// moves are the messages to copy a gone message's copy may be moved
	// to (moves.go); nil when copies are not moved.
	moves *moveIndex

	src      Source
	dst      Sink
	opts     Options
	sel      selection
	j        *Journal
	progress Progress
	now      func() time.Time
	retrier  retrier
	fetchers int

	flusher    Flusher           // nil unless dst is one
	indexer    Indexer           // nil unless dst is one
	keyer      Keyer             // nil unless src is one
	identifier MailboxIdentifier // nil unless src is one
	deleter    Deleter           // nil unless DeleteSource

	fetchSem chan struct{}
	spools   *spoolMemory // the memory the spools share
	work     chan *item   // fetched, to the put workers
	commits  chan *item   // durable, to the journal
	cancel   context.CancelCauseFunc
	// stopping reports whether the run's context is done: an error that
	// arrives after that is a consequence of the stop, not its cause.
	stopping func() bool

	mu       sync.Mutex // guards sum and firstErr
	sum      Summary
	folders  map[string]*FolderSummary // by source folder: the per-folder part of sum
	firstErr error

	flushMu    sync.Mutex // serialises Flush + journal of a batch
	batchMu    sync.Mutex
	batch      []*item
	batchBytes int64
}

// item is one fetched message on its way to the sink.
type item struct {
	job *folderJob
	msg Message // as the source delivered it; Folder is the source folder
	sp  *spool
	rec Record
}

func newRunner(src Source, dst Sink, opts Options) (*runner, error) {
	if opts.Connections <= 0 {
		opts.Connections = 4
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if w, ok := dst.(PutWorkers); ok && w.PutWorkers() > opts.Workers {
		opts.Workers = w.PutWorkers()
	}
	if opts.SpoolMemory <= 0 {
		opts.SpoolMemory = defaultSpoolMemory
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 256
	}
	r := &runner{
		src:      src,
		dst:      dst,
		opts:     opts,
		sel:      newSelection(opts),
		j:        opts.Journal,
		progress: opts.Progress,
		spools:   newSpoolMemory(opts.SpoolMemory, maxSpoolBody),
		now:      opts.Now,
	}
	r.spools.wait = spoolMemoryWait
	if r.progress == nil {
		r.progress = nopProgress{}
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.retrier = newRetrier(opts.Retries, opts.RetryDelay, r.event)
	r.fetchers = 1
	if f, ok := src.(Fetchers); ok && f.MaxFetchers() > 1 {
		r.fetchers = f.MaxFetchers()
	}
	r.fetchers = min(r.fetchers, opts.Connections)
	r.flusher, _ = dst.(Flusher)
	r.indexer, _ = dst.(Indexer)
	r.keyer, _ = src.(Keyer)
	r.identifier, _ = src.(MailboxIdentifier)
	if opts.DeleteSource {
		d, ok := src.(Deleter)
		if !ok {
			return nil, FatalError(errors.New("--delete-source: this source cannot delete messages; nothing was copied"))
		}
		if opts.Journal == nil && !opts.DryRun {
			return nil, FatalError(errors.New("--delete-source needs a state file: messages are deleted only once the journal records them; nothing was copied"))
		}
		r.deleter = d
	}
	return r, nil
}

func (r *runner) run(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	r.cancel = cancel
	r.stopping = func() bool { return ctx.Err() != nil }
	r.fetchSem = make(chan struct{}, r.fetchers)

	groups, err := r.selectFolders(ctx)
	if err != nil {
		return r.result(parent, err)
	}
	if r.opts.FoldersOnly {
		if !r.opts.DryRun {
			r.createFolders(ctx, groups)
			r.copySubscriptions(ctx, groups)
		}
		return r.result(parent, nil)
	}

	// The plan comes first, for every folder: --dry-run stops after it,
	// and a real run knows its whole size before it copies.
	var plans errgroup.Group
	plans.SetLimit(r.fetchers)
	for _, g := range groups {
		plans.Go(func() error {
			if err := r.planGroup(ctx, g); err != nil {
				if err := r.groupFailed(ctx, g, err); err != nil {
					r.fail(err)
				}
				g.failed = true
			}
			return nil
		})
	}
	_ = plans.Wait()
	r.finishGroups(ctx, groups)
	if r.opts.DryRun || ctx.Err() != nil {
		return r.result(parent, nil)
	}

	r.createFolders(ctx, groups)
	// Fetched messages wait here for a put worker. Their spools hold
	// memory (see spoolMemory) without being stored yet, so the queue is
	// short whatever the number of workers: with the IMAP sink's 128 it
	// held 128 spools that took memory from the ones being stored, and
	// 661 of the bench corpus's messages spilled to temporary files,
	// against 267 with a queue of 8.
	r.work = make(chan *item, min(r.opts.Workers, maxWorkQueue))
	r.commits = make(chan *item, commitQueue)
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		r.commitLoop(ctx)
	}()
	var puts errgroup.Group
	for range r.opts.Workers {
		puts.Go(func() error {
			for it := range r.work {
				if !r.put(ctx, it) {
					it.job.inFlight.Done()
				}
			}
			return nil
		})
	}
	var fetches errgroup.Group
	fetches.SetLimit(max(2*r.fetchers, 4))
	for _, g := range groups {
		if g.failed {
			continue
		}
		for _, job := range g.jobs {
			if ctx.Err() != nil {
				break
			}
			fetches.Go(func() error {
				if err := r.copyFolder(ctx, job); err != nil {
					if err := r.folderFailed(ctx, job, err); err != nil {
						r.fail(err)
					}
				}
				return nil
			})
		}
	}
	_ = fetches.Wait()
	close(r.work)
	_ = puts.Wait()
	close(r.commits)
	<-committed

	// What a Flusher sink holds unflushed becomes durable and journaled
	// now, also when the run was interrupted.
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(parent), finalFlushTimeout)
	defer fcancel()
	if err := r.flushPending(fctx, false); err != nil {
		r.fail(err)
	}
	r.reportRewrites(ctx)
	r.copySubscriptions(ctx, groups)
	if err := r.recordFolders(ctx, groups); err != nil {
		r.fail(err)
	}
	return r.result(parent, nil)
}

// copyFolder fetches and puts one folder's planned messages and, with
// --delete-source, then deletes what is confirmed at the destination.
func (r *runner) copyFolder(ctx context.Context, job *folderJob) error {
	var chunks errgroup.Group
	for i, chunk := range job.todo {
		// Slots are taken in order, so a folder's chunks start in order.
		select {
		case r.fetchSem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		chunks.Go(func() error {
			defer func() { <-r.fetchSem }()
			err := r.fetchLoop(ctx, job, chunk, r.spoolAndPut(ctx, job, chunk))
			// The put workers hold their own copies of the messages:
			// a chunk fetched is released, so a large folder's todo
			// list is not held until its last chunk is done.
			job.todo[i] = nil
			if err != nil {
				// Stop the run at once, not when the folder's
				// other chunks are done.
				if err := r.folderFailed(ctx, job, err); err != nil {
					r.fail(err)
				}
			}
			return err
		})
	}
	err := chunks.Wait()
	job.inFlight.Wait()
	if err != nil || ctx.Err() != nil {
		// Already reported by the chunk that failed.
		return nil
	}
	if r.deleter != nil {
		return r.deleteConfirmed(ctx, job)
	}
	return nil
}

// result decides what Run returns: the first fatal error, else the
// interruption, else err.
func (r *runner) result(parent context.Context, err error) error {
	r.mu.Lock()
	first := r.firstErr
	r.mu.Unlock()
	switch {
	case first != nil:
		return first
	case parent.Err() != nil:
		return fmt.Errorf("interrupted: %w", parent.Err())
	default:
		return err
	}
}

// fail records the first fatal error and stops the run. Errors arriving
// after the run was stopped are consequences, not causes, and are dropped.
func (r *runner) fail(err error) {
	r.mu.Lock()
	if r.firstErr == nil && !r.stopping() {
		r.firstErr = err
	}
	r.mu.Unlock()
	r.cancel(err)
}

// createFolders creates the destination folders of groups with nothing to
// copy, so empty source folders exist at the destination too; a folder that
// receives messages is created by its first Put.
func (r *runner) createFolders(ctx context.Context, groups []*destGroup) {
	fc, ok := r.dst.(FolderCreator)
	if !ok {
		return
	}
	for _, g := range groups {
		if g.failed || ctx.Err() != nil {
			continue
		}
		empty := true
		for _, job := range g.jobs {
			empty = empty && job.todoCount == 0
		}
		if !empty || len(g.jobs) == 0 {
			continue
		}
		var created bool
		err := r.withFetchSlot(ctx, func() error {
			return r.retrier.do(ctx, g.dest, nil, "creating the destination folder", func() error {
				var err error
				created, err = fc.CreateFolder(ctx, g.dest)
				return err
			})
		})
		if err != nil {
			if err := r.groupFailed(ctx, g, &MessageError{Folder: g.jobs[0].folder.Name, Dest: g.dest, Err: fmt.Errorf("creating the folder: %w", err)}); err != nil {
				r.fail(err)
			}
			continue
		}
		if created {
			r.mu.Lock()
			r.sum.FoldersCreated++
			r.mu.Unlock()
			r.event(Event{Kind: EventFolderCreated, Folder: g.jobs[0].folder.Name, Text: g.dest})
		}
	}
}
