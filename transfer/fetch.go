package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// handlerError carries the error of a fetch handler out of Source.Fetch, so
// the loop can tell it from the errors of the stream.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }
func (e *handlerError) Unwrap() error { return e.err }

// fetcher is the one fetch loop with resume of the pipeline, shared by
// Run (its copy and its plan) and Verify (both sides): it knows only the
// store to read, the backoff, and where to report.
type fetcher struct {
	src     Source
	retrier retrier
	// event receives the loop's warnings (a message delivered that was
	// not asked for, an error that names no message).
	event func(Event)
	// fail is told of every message that cannot be delivered: one the
	// source reports as failed, or one it leaves out twice.
	fail func(m Message, err error)
	// bandwidth limits the bytes read from the source (--bwlimit); nil
	// reads unthrottled.
	bandwidth *Throttle
}

// fetcher returns the fetch loop of Run for one source folder: failures
// count against the folder's job.
func (r *runner) fetcher(job *folderJob) fetcher {
	return fetcher{src: r.src, retrier: r.retrier, event: r.event, bandwidth: r.opts.Bandwidth,
		fail: func(m Message, err error) { r.failMessage(job, m, err) }}
}

// fetchLoop runs Run's fetch loop over msgs of job's folder; see
// fetcher.fetch. The caller holds a fetch slot.
func (r *runner) fetchLoop(ctx context.Context, job *folderJob, msgs []Message, handle func(Message, io.Reader) error) error {
	return r.fetcher(job).fetch(ctx, job.folder.Name, msgs, handle)
}

// fetch fetches msgs of folder and calls handle once per delivered message.
// A stream cut by a Temporary error resumes with the messages not yet
// delivered; messages the source reports as failed go to fail; ones it
// leaves out silently are asked for once more, then go to fail. A
// PerMessage error from handle fails that message alone; any other error
// from handle stops the loop and is returned as it is.
func (f fetcher) fetch(ctx context.Context, name string, msgs []Message, handle func(Message, io.Reader) error) error {
	var mu sync.Mutex // guards pending: fn may, against the contract, run concurrently
	pending := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		pending[m.ID] = true
	}
	b := f.retrier.backoff()
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
			hErr      error
			delivered int
		)
		err := f.src.Fetch(ctx, name, req, func(m Message, body io.Reader) error {
			mu.Lock()
			ok := pending[m.ID]
			mu.Unlock()
			if !ok {
				f.event(Event{Kind: EventWarning, Folder: name, Message: &m, Text: "the source delivered a message that was not asked for; ignored"})
				return nil
			}
			if err := ctx.Err(); err != nil {
				hErr = err
				return err
			}
			m.Folder = name
			err := handle(m, f.bandwidth.reader(ctx, body))
			if err != nil && ClassOf(err) == PerMessage && !errors.Is(err, ctx.Err()) {
				// This body cannot be read (the source says so); the
				// stream itself is fine.
				mu.Lock()
				delete(pending, m.ID)
				mu.Unlock()
				f.fail(m, err)
				return nil
			}
			if err != nil {
				hErr = &handlerError{err}
				return hErr
			}
			mu.Lock()
			delete(pending, m.ID)
			delivered++
			mu.Unlock()
			return nil
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var he *handlerError
		if errors.As(hErr, &he) && ClassOf(he.err) != Temporary {
			return he.err
		}
		if err == nil && hErr != nil {
			err = hErr
		}
		rest := f.messageErrors(name, err, msgs, pending)
		if rest != nil {
			if ClassOf(rest) != Temporary {
				return fmt.Errorf("fetching: %w", rest)
			}
			if delivered > 0 { // progress: the retry budget starts again
				b.reset()
			}
			if !b.wait(ctx, name, nil, "fetching", rest) {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("fetching (gave up after %d retries): %w", f.retrier.retries, rest)
			}
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
				f.fail(m, PerMessageError(errors.New("the source did not deliver it")))
			}
		}
		return nil
	}
}

// spoolAndPut is the fetch handler of a copy of msgs: it spools each body
// and hands it to the put workers.
func (r *runner) spoolAndPut(ctx context.Context, job *folderJob, msgs []Message) func(Message, io.Reader) error {
	undated := make(map[string]bool)
	for _, m := range msgs {
		if m.Date.IsZero() {
			undated[m.ID] = true
		}
	}
	return func(m Message, body io.Reader) error {
		sp, err := newSpool(body, m.Size, r.spools, r.opts.SpoolDir)
		if err != nil {
			return err
		}
		m.Size = sp.size
		if undated[m.ID] && !r.sel.date(m) {
			// The date became known only with the message (POP3
			// lists none), so the plan could not filter it.
			sp.close()
			r.filtered(job, 1, &m)
			return nil
		}
		job.inFlight.Add(1)
		select {
		case r.work <- &item{job: job, msg: m, sp: sp}:
			return nil
		case <-ctx.Done():
			job.inFlight.Done()
			sp.close()
			return ctx.Err()
		}
	}
}

// messageErrors takes the PerMessage *MessageErrors out of a Fetch error,
// fails the pending messages they name, and returns the rest.
func (f fetcher) messageErrors(name string, err error, msgs []Message, pending map[string]bool) error {
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
			f.event(Event{Kind: EventWarning, Folder: name, Err: e, Text: "the source reported an error without naming the message"})
			continue
		}
		if !pending[me.ID] {
			f.event(Event{Kind: EventWarning, Folder: name, Err: e,
				Text: "the source reported an error for a message it was not asked for or already delivered"})
			continue
		}
		delete(pending, me.ID)
		f.fail(byID[me.ID], me.Err)
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
