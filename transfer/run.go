package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

const (
	// flushEvery and flushBytes bound how much a Flusher sink buffers
	// before Run makes it durable and journals it.
	flushEvery = 64
	flushBytes = 16 << 20
	// maxRetryDelay caps the doubling backoff.
	maxRetryDelay = 30 * time.Second
	// commitQueue bounds the durable messages waiting for the journal.
	commitQueue = 1024
	// finalFlushTimeout bounds the flush that makes an interrupted run's
	// last batch durable.
	finalFlushTimeout = 2 * time.Minute
)

// Run copies what is new from src to dst: plan, fetch, put, commit.
//
// Per folder it lists the source, drops what the filters exclude and what the
// journal records as copied, streams the bodies into bounded spools and puts
// them with Options.Workers workers. A message the journal does not know but
// the sink already holds (same fingerprint) is recorded, not copied again. A
// message is journaled only once the sink holds it durably, so an interrupted
// run can always be resumed by running it again.
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
	sum.Seconds = time.Since(start).Seconds()
	return sum, err
}

// runner is the state of one Run.
type runner struct {
	src      Source
	dst      Sink
	opts     Options
	j        *Journal
	progress Progress
	now      func() time.Time
	retries  int
	fetchers int

	flusher Flusher       // nil unless dst is one
	fper    Fingerprinter // nil unless dst is one
	deleter Deleter       // nil unless DeleteSource

	ctx      context.Context // cancelled on the first fatal error
	cancel   context.CancelCauseFunc
	fetchSem chan struct{}
	work     chan *item // fetched, to the put workers
	commits  chan *item // durable, to the journal

	mu       sync.Mutex // guards sum and firstErr
	sum      Summary
	firstErr error

	fpMu sync.Mutex
	fps  map[string]*destPrints

	flushMu    sync.Mutex // serialises Flush + journal of a batch
	batchMu    sync.Mutex
	batch      []*item
	batchBytes int64
}

// folderJob is one source folder on its way to one destination folder.
type folderJob struct {
	folder Folder
	dest   string
	// selected are the listed messages that passed the filters: the ones
	// --delete-source may delete once they are journaled.
	selected []Message
	// inFlight counts messages handed to the put workers and not done yet.
	inFlight sync.WaitGroup
}

// item is one fetched message on its way to the sink.
type item struct {
	job *folderJob
	msg Message // as the source delivered it; Folder is the source folder
	sp  *spool
	rec Record
	// held: the sink had the message already; it was not put.
	held bool
}

// destPrints is what one destination folder holds that the journal does not
// account for: fingerprint → copies still unclaimed.
type destPrints struct {
	mu     sync.Mutex
	loaded bool
	avail  map[string]int
}

func newRunner(src Source, dst Sink, opts Options) (*runner, error) {
	if opts.Connections <= 0 {
		opts.Connections = 4
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.SpoolMemory <= 0 {
		opts.SpoolMemory = 1 << 20
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 256
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Second
	}
	r := &runner{
		src:      src,
		dst:      dst,
		opts:     opts,
		j:        opts.Journal,
		progress: opts.Progress,
		now:      opts.Now,
		retries:  opts.Retries,
		fps:      make(map[string]*destPrints),
	}
	switch {
	case r.retries == 0:
		r.retries = 5
	case r.retries < 0:
		r.retries = 0
	}
	if r.progress == nil {
		r.progress = nopProgress{}
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.fetchers = 1
	if f, ok := src.(Fetchers); ok && f.MaxFetchers() > 1 {
		r.fetchers = f.MaxFetchers()
	}
	r.fetchers = min(r.fetchers, opts.Connections)
	r.flusher, _ = dst.(Flusher)
	r.fper, _ = dst.(Fingerprinter)
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
	folders, err := r.src.Folders(parent)
	if err != nil {
		return r.result(parent, fmt.Errorf("listing source folders: %w", err))
	}
	var jobs []*folderJob
	roles := make(map[string]string)
	for _, f := range folders {
		if !r.selected(f.Name) {
			continue
		}
		dest, err := r.destFolder(parent, f, roles)
		if err != nil {
			return r.result(parent, err)
		}
		jobs = append(jobs, &folderJob{folder: f, dest: dest})
	}
	if r.opts.DryRun {
		for _, job := range jobs {
			if _, err := r.plan(parent, job); err != nil {
				if err := r.folderFailed(parent, job, err); err != nil {
					return r.result(parent, err)
				}
			}
		}
		return r.result(parent, nil)
	}

	r.ctx, r.cancel = context.WithCancelCause(parent)
	defer r.cancel(nil)
	r.fetchSem = make(chan struct{}, r.fetchers)
	r.work = make(chan *item, r.opts.Workers)
	r.commits = make(chan *item, commitQueue)

	committed := make(chan struct{})
	go func() {
		defer close(committed)
		r.commitLoop()
	}()
	var puts errgroup.Group
	for range r.opts.Workers {
		puts.Go(func() error {
			for it := range r.work {
				if !r.put(it) {
					it.job.inFlight.Done()
				}
			}
			return nil
		})
	}
	var fetches errgroup.Group
	fetches.SetLimit(max(2*r.fetchers, 4))
	for _, job := range jobs {
		if r.ctx.Err() != nil {
			break
		}
		fetches.Go(func() error {
			if err := r.runFolder(job); err != nil {
				if err := r.folderFailed(r.ctx, job, err); err != nil {
					r.fail(err)
				}
			}
			return nil
		})
	}
	_ = fetches.Wait()
	close(r.work)
	_ = puts.Wait()
	close(r.commits)
	<-committed

	// What a Flusher sink holds unflushed becomes durable and journaled
	// now, also when the run was interrupted.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(parent), finalFlushTimeout)
	defer cancel()
	if err := r.flushPending(fctx, false); err != nil {
		r.fail(err)
	}
	return r.result(parent, nil)
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
	if r.firstErr == nil && r.ctx.Err() == nil {
		r.firstErr = err
	}
	r.mu.Unlock()
	r.cancel(err)
}

// folderFailed handles an error that ended a folder: a PerMessage one fails
// only the folder (counted as one failure), anything else is returned.
func (r *runner) folderFailed(ctx context.Context, job *folderJob, err error) error {
	if ctx.Err() != nil || ClassOf(err) != PerMessage {
		return err
	}
	me := &MessageError{Folder: job.folder.Name, Err: err}
	r.mu.Lock()
	r.sum.Failed++
	r.sum.Failures = append(r.sum.Failures, me)
	r.mu.Unlock()
	r.event(Event{Kind: EventFailed, Folder: job.folder.Name, Err: me})
	return nil
}

func (r *runner) event(e Event) { r.progress.Event(e) }

// selected applies Include and Exclude to a source folder name.
func (r *runner) selected(name string) bool {
	if len(r.opts.Include) > 0 {
		ok := false
		for _, re := range r.opts.Include {
			if re.MatchString(name) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, re := range r.opts.Exclude {
		if re.MatchString(name) {
			return false
		}
	}
	return true
}

// destFolder names the destination folder of a source folder: FlattenTo,
// else the longest matching Map entry (subfolders follow), else the sink's
// folder for the folder's special-use role, else the same name.
func (r *runner) destFolder(ctx context.Context, f Folder, roles map[string]string) (string, error) {
	if r.opts.FlattenTo != "" {
		return r.opts.FlattenTo, nil
	}
	if dest, ok := mapFolder(f.Name, r.opts.Map); ok {
		return dest, nil
	}
	rr, ok := r.dst.(RoleResolver)
	if f.Role == "" || !ok {
		return f.Name, nil
	}
	if dest, ok := roles[f.Role]; ok {
		if dest == "" {
			return f.Name, nil
		}
		return dest, nil
	}
	var (
		dest  string
		found bool
	)
	err := r.retry(ctx, f.Name, nil, "finding the destination folder for "+f.Role, func() error {
		var err error
		dest, found, err = rr.FolderForRole(ctx, f.Role)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("destination folder for %s (source folder %q): %w", f.Role, f.Name, err)
	}
	if !found {
		dest = ""
	}
	roles[f.Role] = dest
	if dest == "" {
		return f.Name, nil
	}
	return dest, nil
}

// mapFolder applies the longest matching mapping to name.
func mapFolder(name string, maps []FolderMapping) (string, bool) {
	best := -1
	for i, m := range maps {
		if m.Old == "" {
			continue
		}
		if name != m.Old && !strings.HasPrefix(name, m.Old+"/") {
			continue
		}
		if best < 0 || len(m.Old) > len(maps[best].Old) {
			best = i
		}
	}
	if best < 0 {
		return "", false
	}
	m := maps[best]
	return m.New + name[len(m.Old):], true
}

// passes applies Since, Before and MaxSize.
func (r *runner) passes(m Message) bool {
	return r.passesDate(m) && (r.opts.MaxSize <= 0 || m.Size <= r.opts.MaxSize)
}

// passesDate applies Since and Before; a message of unknown date passes.
func (r *runner) passesDate(m Message) bool {
	if m.Date.IsZero() {
		return true
	}
	if !r.opts.Since.IsZero() && m.Date.Before(r.opts.Since) {
		return false
	}
	return r.opts.Before.IsZero() || m.Date.Before(r.opts.Before)
}

// plan lists a folder and returns the messages to copy: those that pass
// the filters and that the journal does not know.
func (r *runner) plan(ctx context.Context, job *folderJob) ([]Message, error) {
	name := job.folder.Name
	var msgs []Message
	err := r.withFetchSlot(ctx, func() error {
		return r.retry(ctx, name, nil, "listing", func() error {
			var err error
			msgs, err = r.src.List(ctx, name)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("folder %q: listing messages: %w", name, err)
	}
	var (
		todo     []Message
		filtered int
		known    int
		bytes    int64
	)
	seen := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		m.Folder = name
		// Identity is what keeps a message from being copied twice; a
		// source that cannot give one gets the message reported, not
		// guessed at.
		switch {
		case m.ID == "":
			r.failMessage(job, m, PerMessageError(errors.New("the source gave the message no identity")))
			continue
		case seen[m.ID]:
			r.failMessage(job, m, PerMessageError(fmt.Errorf("the source lists message id %s twice", m.ID)))
			continue
		}
		seen[m.ID] = true
		if !r.passes(m) {
			filtered++
			continue
		}
		job.selected = append(job.selected, m)
		if r.j != nil {
			if _, ok := r.j.Lookup(r.opts.SourceKey, name, m.ID); ok {
				known++
				continue
			}
		}
		todo = append(todo, m)
		bytes += m.Size
	}
	if filtered > 0 {
		r.event(Event{Kind: EventSkipped, Folder: name, Count: filtered, Text: "filtered"})
	}
	if known > 0 {
		r.mu.Lock()
		r.sum.Skipped += known
		r.mu.Unlock()
		r.event(Event{Kind: EventSkipped, Folder: name, Count: known, Text: "already copied"})
	}
	r.event(Event{Kind: EventPlanned, Folder: name, Count: len(todo), Bytes: bytes, Text: job.dest})
	if r.opts.DryRun {
		for i := range todo {
			r.event(Event{Kind: EventPlanMessage, Folder: name, Message: &todo[i], Bytes: todo[i].Size, Text: job.dest})
		}
	}
	return todo, nil
}

// withFetchSlot runs fn holding one of the source's connections.
func (r *runner) withFetchSlot(ctx context.Context, fn func() error) error {
	if r.fetchSem == nil { // dry run: one thing at a time anyway
		return fn()
	}
	select {
	case r.fetchSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.fetchSem }()
	return fn()
}

// runFolder plans, fetches and (with --delete-source) deletes one folder.
func (r *runner) runFolder(job *folderJob) error {
	ctx := r.ctx
	todo, err := r.plan(ctx, job)
	if err != nil {
		return err
	}
	var chunks errgroup.Group
	for start := 0; start < len(todo); start += r.opts.ChunkSize {
		chunk := todo[start:min(start+r.opts.ChunkSize, len(todo))]
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
			err := r.fetchChunk(ctx, job, chunk)
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
	err = chunks.Wait()
	job.inFlight.Wait()
	if err != nil || ctx.Err() != nil {
		// Already reported by the chunk that failed.
		return nil
	}
	if r.deleter != nil {
		return r.deleteCopied(ctx, job)
	}
	return nil
}

// fetchChunk fetches msgs (holding a fetch slot) and hands them to the put
// workers. A stream cut by a Temporary error resumes with the messages not
// yet delivered; messages the source reports as failed are counted; ones it
// leaves out silently are asked for once more, then counted as failed.
func (r *runner) fetchChunk(ctx context.Context, job *folderJob, msgs []Message) error {
	name := job.folder.Name
	var mu sync.Mutex // guards pending: fn may, against the contract, run concurrently
	pending := make(map[string]bool, len(msgs))
	undated := make(map[string]bool)
	for _, m := range msgs {
		pending[m.ID] = true
		if m.Date.IsZero() {
			undated[m.ID] = true
		}
	}
	attempt := 0
	delay := r.opts.RetryDelay
	askedAgain := false
	for {
		var req []Message
		for _, m := range msgs {
			if pending[m.ID] {
				req = append(req, m)
			}
		}
		if len(req) == 0 {
			return nil
		}
		var (
			fnErr     error
			delivered int
		)
		err := r.src.Fetch(ctx, name, req, func(m Message, body io.Reader) error {
			mu.Lock()
			ok := pending[m.ID]
			mu.Unlock()
			if !ok {
				r.event(Event{Kind: EventWarning, Folder: name, Text: fmt.Sprintf("source delivered message %s, which was not asked for; ignored", m.ID)})
				return nil
			}
			if err := ctx.Err(); err != nil {
				fnErr = err
				return err
			}
			sp, err := newSpool(body, m.Size, r.opts.SpoolMemory, r.opts.SpoolDir)
			if err != nil && ClassOf(err) == PerMessage {
				// This body cannot be read (the source says so); the
				// stream itself is fine.
				mu.Lock()
				delete(pending, m.ID)
				mu.Unlock()
				r.failMessage(job, m, err)
				return nil
			}
			if err != nil {
				fnErr = err
				return err
			}
			m.Folder = name
			m.Size = sp.size
			mu.Lock()
			delete(pending, m.ID)
			delivered++
			mu.Unlock()
			if undated[m.ID] && !r.passesDate(m) {
				// The date became known only with the message (POP3
				// lists none), so the plan could not filter it.
				sp.close()
				r.event(Event{Kind: EventSkipped, Folder: name, Message: &m, Count: 1, Text: "filtered"})
				return nil
			}
			job.inFlight.Add(1)
			select {
			case r.work <- &item{job: job, msg: m, sp: sp}:
				return nil
			case <-ctx.Done():
				job.inFlight.Done()
				sp.close()
				fnErr = ctx.Err()
				return fnErr
			}
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var se *errSpool
		if errors.As(fnErr, &se) {
			return fnErr
		}
		if err == nil && fnErr != nil {
			err = fnErr
		}
		rest := r.messageErrors(job, err, msgs, pending)
		if rest != nil {
			if ClassOf(rest) != Temporary {
				return fmt.Errorf("folder %q: fetching: %w", name, rest)
			}
			if delivered > 0 { // progress: the retry budget starts again
				attempt = 0
				delay = r.opts.RetryDelay
			}
			attempt++
			if attempt > r.retries {
				return fmt.Errorf("folder %q: fetching (gave up after %d retries): %w", name, r.retries, rest)
			}
			r.event(Event{Kind: EventRetry, Folder: name, Count: attempt, Err: rest, Text: "fetching"})
			if !sleep(ctx, delay) {
				return ctx.Err()
			}
			delay = min(2*delay, maxRetryDelay)
			continue
		}
		if len(pending) == 0 {
			return nil
		}
		if !askedAgain {
			askedAgain = true
			continue
		}
		for _, m := range msgs {
			if pending[m.ID] {
				r.failMessage(job, m, PerMessageError(errors.New("source did not deliver it")))
			}
		}
		return nil
	}
}

// messageErrors takes the PerMessage *MessageErrors out of a Fetch error,
// counts them as failures of pending messages, and returns the rest.
func (r *runner) messageErrors(job *folderJob, err error, msgs []Message, pending map[string]bool) error {
	if err == nil {
		return nil
	}
	byID := make(map[string]Message, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
	}
	var rest []error
	for _, e := range leaves(err) {
		var me *MessageError
		if ClassOf(e) != PerMessage {
			rest = append(rest, e)
			continue
		}
		if !errors.As(e, &me) {
			// Not said which message: the messages it concerns stay
			// pending, are asked for again and then reported one by
			// one.
			r.event(Event{Kind: EventWarning, Folder: job.folder.Name, Err: e, Text: "source reported an error without naming the message"})
			continue
		}
		if !pending[me.ID] {
			r.event(Event{Kind: EventWarning, Folder: job.folder.Name, Err: e,
				Text: "source reported an error for a message it was not asked for or already delivered"})
			continue
		}
		delete(pending, me.ID)
		r.failMessage(job, byID[me.ID], me.Err)
	}
	return errors.Join(rest...)
}

// leaves flattens errors.Join trees.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// failMessage counts one message as failed.
func (r *runner) failMessage(job *folderJob, m Message, err error) {
	me := &MessageError{Folder: job.folder.Name, ID: m.ID, Err: err}
	r.mu.Lock()
	r.sum.Failed++
	r.sum.Failures = append(r.sum.Failures, me)
	r.mu.Unlock()
	r.event(Event{Kind: EventFailed, Folder: job.folder.Name, Message: &m, Err: me})
}

// put stores one message unless the destination already holds it, and
// passes it on to be committed. It always releases the spool. It reports
// whether it handed the item on; whoever holds the item last marks it done
// in its folder's inFlight.
func (r *runner) put(it *item) bool {
	defer it.sp.close()
	ctx := r.ctx
	if ctx.Err() != nil {
		return false
	}
	job, m := it.job, it.msg
	it.rec = Record{
		Source:      r.opts.SourceKey,
		Folder:      job.folder.Name,
		ID:          m.ID,
		Fingerprint: it.sp.fingerprint(m),
		Dest:        job.dest,
		Time:        r.now().UTC(),
	}
	if r.fper != nil {
		held, err := r.claim(ctx, job.dest, it.rec.Fingerprint)
		if err != nil {
			r.fail(err)
			return false
		}
		if held {
			// Already durable in the sink: journal it so later runs
			// know it without asking the sink.
			it.held = true
			r.commits <- it
			return true
		}
	}
	dm := m
	dm.Folder = job.dest
	err := r.retry(ctx, job.folder.Name, &m, "storing", func() error {
		return r.dst.Put(ctx, dm, it.sp.reader())
	})
	if err != nil {
		switch {
		case ctx.Err() != nil:
			// Interrupted: neither copied nor failed.
		case ClassOf(err) == PerMessage:
			r.failMessage(job, m, err)
		default:
			r.fail(&MessageError{Folder: job.folder.Name, ID: m.ID, Err: fmt.Errorf("storing in %q: %w", job.dest, err)})
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
// fsync, so the put workers go on while the journal syncs.
func (r *runner) commitLoop() {
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
		recs := make([]Record, len(group))
		for i, it := range group {
			recs[i] = it.rec
		}
		if err := r.journal(recs...); err != nil {
			r.fail(err)
		} else {
			for _, it := range group {
				if it.held {
					r.heldAlready(it)
				} else {
					r.copied(it)
				}
			}
		}
		for _, it := range group {
			it.job.inFlight.Done()
		}
	}
}

// batchFull reports whether the batch should be flushed; batchMu is held.
func (r *runner) batchFull() bool {
	return len(r.batch) >= flushEvery || r.batchBytes >= flushBytes
}

// claim reports whether the destination folder holds a copy with
// fingerprint fp that neither the journal nor this run has accounted for,
// and if so takes it. The sink is asked once per folder, before this run
// puts anything there.
func (r *runner) claim(ctx context.Context, dest, fp string) (bool, error) {
	r.fpMu.Lock()
	d := r.fps[dest]
	if d == nil {
		d = &destPrints{}
		r.fps[dest] = d
	}
	r.fpMu.Unlock()

	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.loaded {
		var counts map[string]int
		err := r.retry(ctx, dest, nil, "reading the destination folder", func() error {
			var err error
			counts, err = r.fper.Fingerprints(ctx, dest)
			return err
		})
		if err != nil {
			return false, FatalError(fmt.Errorf("destination folder %q: reading what it holds: %w", dest, err))
		}
		d.avail = make(map[string]int)
		for f, n := range counts {
			if r.j != nil {
				n -= r.j.Count(dest, f)
			}
			if n > 0 {
				d.avail[f] = n
			}
		}
		d.loaded = true
	}
	if d.avail[fp] > 0 {
		d.avail[fp]--
		return true, nil
	}
	return false, nil
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
	err := r.retry(ctx, "", nil, "flushing the destination", func() error {
		return r.flusher.Flush(ctx)
	})
	if err != nil {
		return FatalError(fmt.Errorf("flushing the destination: %w", err))
	}
	recs := make([]Record, len(batch))
	for i, it := range batch {
		recs[i] = it.rec
	}
	if err := r.journal(recs...); err != nil {
		return err
	}
	for _, it := range batch {
		r.copied(it)
	}
	return nil
}

// journal appends records; without a journal it does nothing.
func (r *runner) journal(recs ...Record) error {
	if r.j == nil {
		return nil
	}
	if err := r.j.Append(recs...); err != nil {
		return FatalError(err)
	}
	return nil
}

// heldAlready counts a message the sink held before; it is journaled now.
func (r *runner) heldAlready(it *item) {
	r.mu.Lock()
	r.sum.Skipped++
	r.mu.Unlock()
	m := it.msg
	r.event(Event{Kind: EventSkipped, Folder: it.job.folder.Name, Message: &m, Count: 1, Text: "already at destination"})
}

// copied counts a message that is durable and journaled.
func (r *runner) copied(it *item) {
	r.mu.Lock()
	r.sum.Copied++
	r.sum.Bytes += it.msg.Size
	r.mu.Unlock()
	m := it.msg
	r.event(Event{Kind: EventCopied, Folder: it.job.folder.Name, Message: &m, Bytes: m.Size, Text: it.job.dest})
}

// deleteCopied deletes from the source folder the selected messages the
// journal records as copied (in this run or earlier) and, with KeepDays,
// first recorded at least that long ago; then journals the deletions.
func (r *runner) deleteCopied(ctx context.Context, job *folderJob) error {
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
	for _, m := range job.selected {
		rec, ok := r.j.Lookup(r.opts.SourceKey, name, m.ID)
		if !ok {
			continue
		}
		if r.opts.KeepDays > 0 && rec.Time.After(cutoff) {
			continue
		}
		del = append(del, m)
		rec.Deleted = true
		recs = append(recs, rec)
	}
	if len(del) == 0 {
		return nil
	}
	err := r.withFetchSlot(ctx, func() error {
		return r.retry(ctx, name, nil, "deleting from the source", func() error {
			return r.deleter.Delete(ctx, name, del)
		})
	})
	if err != nil {
		return fmt.Errorf("folder %q: deleting %d copied messages from the source: %w", name, len(del), err)
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

// retry calls fn until it succeeds, fails with an error that is not
// Temporary, or the retries are used up; the delay doubles each time.
func (r *runner) retry(ctx context.Context, folder string, m *Message, what string, fn func() error) error {
	delay := r.opts.RetryDelay
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || ClassOf(err) != Temporary || attempt > r.retries || ctx.Err() != nil {
			return err
		}
		r.event(Event{Kind: EventRetry, Folder: folder, Message: m, Count: attempt, Err: err, Text: what})
		if !sleep(ctx, delay) {
			return err
		}
		delay = min(2*delay, maxRetryDelay)
	}
}

// sleep waits d or until ctx is done; it reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
