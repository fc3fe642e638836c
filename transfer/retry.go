package transfer

import (
	"context"
	"time"
)

// maxRetryDelay caps the doubling backoff: long enough for a server that
// restarts, short enough that a run does not look hung.
const maxRetryDelay = 30 * time.Second

// retrier is the one backoff of the pipeline: every listing, fetch, put,
// flush and delete is retried by it.
type retrier struct {
	retries int           // how often a Temporary error is retried
	delay   time.Duration // the first wait, doubled each time
	event   func(Event)
}

// newRetrier applies Options' defaults: 0 retries means 5, a negative number
// none; a zero delay means 1s.
func newRetrier(retries int, delay time.Duration, event func(Event)) retrier {
	switch {
	case retries == 0:
		retries = 5
	case retries < 0:
		retries = 0
	}
	if delay <= 0 {
		delay = time.Second
	}
	return retrier{retries: retries, delay: delay, event: event}
}

// do calls fn until it succeeds, fails with an error that is not Temporary,
// or the retries are used up; each retry is reported as an EventRetry.
func (rt retrier) do(ctx context.Context, folder string, m *Message, what string, fn func() error) error {
	b := rt.backoff()
	for {
		err := fn()
		if err == nil || ClassOf(err) != Temporary || ctx.Err() != nil {
			return err
		}
		if !b.wait(ctx, folder, m, what, err) {
			return err
		}
	}
}

// backoff is the state of one sequence of retries.
type backoff struct {
	rt      retrier
	attempt int
	delay   time.Duration
}

func (rt retrier) backoff() *backoff { return &backoff{rt: rt, delay: rt.delay} }

// reset starts the budget again after progress.
func (b *backoff) reset() { b.attempt, b.delay = 0, b.rt.delay }

// wait reports the retry and sleeps; it reports false when the retries are
// used up or ctx ended.
func (b *backoff) wait(ctx context.Context, folder string, m *Message, what string, err error) bool {
	b.attempt++
	if b.attempt > b.rt.retries {
		return false
	}
	if b.rt.event != nil {
		b.rt.event(Event{Kind: EventRetry, Folder: folder, Message: m, Count: b.attempt, Err: err, Text: what})
	}
	wait := max(b.delay, retryAfter(err))
	if !sleep(ctx, wait) {
		return false
	}
	b.delay = min(2*b.delay, maxRetryDelay)
	return true
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
