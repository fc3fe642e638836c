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

// fetchLoop is the one fetch loop with resume of the pipeline: it fetches
// msgs of job's folder and calls handle once per delivered message. A stream
// cut by a Temporary error resumes with the messages not yet delivered;
// messages the source reports as failed are counted; ones it leaves out
// silently are asked for once more, then counted as failed. An error from
// handle stops the loop and is returned as it is. The caller holds a fetch
// slot.
func (r *runner) fetchLoop(ctx context.Context, job *folderJob, msgs []Message, handle func(Message, io.Reader) error) error {
	name := job.folder.Name
	var mu sync.Mutex // guards pending: fn may, against the contract, run concurrently
	pending := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		pending[m.ID] = true
	}
	b := r.retrier.backoff()
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
		err := r.src.Fetch(ctx, name, req, func(m Message, body io.Reader) error {
			mu.Lock()
			ok := pending[m.ID]
			mu.Unlock()
			if !ok {
				r.event(Event{Kind: EventWarning, Folder: name, Message: &m, Text: "the source delivered a message that was not asked for; ignored"})
				return nil
			}
			if err := ctx.Err(); err != nil {
				hErr = err
				return err
			}
			m.Folder = name
			err := handle(m, r.opts.Bandwidth.reader(ctx, body))
			if err != nil && ClassOf(err) == PerMessage && !errors.Is(err, ctx.Err()) {
				// This body cannot be read (the source says so); the
				// stream itself is fine.
				mu.Lock()
				delete(pending, m.ID)
				mu.Unlock()
				r.failMessage(job, m, err)
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
		rest := r.messageErrors(job, err, msgs, pending)
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
				return fmt.Errorf("fetching (gave up after %d retries): %w", r.retrier.retries, rest)
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
				r.failMessage(job, m, PerMessageError(errors.New("the source did not deliver it")))
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
		sp, err := newSpool(body, m.Size, r.opts.SpoolMemory, r.opts.SpoolDir)
		if err != nil {
			return err
		}
		m.Size = sp.size
		if undated[m.ID] && !r.sel.date(m) {
			// The date became known only with the message (POP3
			// lists none), so the plan could not filter it.
			sp.close()
			r.event(Event{Kind: EventSkipped, Folder: job.folder.Name, Message: &m, Count: 1, Text: "filtered"})
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
			r.event(Event{Kind: EventWarning, Folder: job.folder.Name, Err: e, Text: "the source reported an error without naming the message"})
			continue
		}
		if !pending[me.ID] {
			r.event(Event{Kind: EventWarning, Folder: job.folder.Name, Err: e,
				Text: "the source reported an error for a message it was not asked for or already delivered"})
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
