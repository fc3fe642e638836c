package transfer

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// Throttle spreads work at a steady rate over all connections of a run:
// bytes read from the source (--bwlimit) or messages stored
// (--max-messages-per-second). It keeps a schedule instead of a bucket: each
// request is given the next free slot, so the rate holds exactly over any
// stretch of time, with no burst after a pause beyond one request.
type Throttle struct {
	rate  float64 // units per second
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) bool

	mu   sync.Mutex
	next time.Time
}

// NewThrottle returns a Throttle of perSecond units a second on the real
// clock; nil when perSecond is not positive (no limit).
func NewThrottle(perSecond float64) *Throttle {
	return NewThrottleClock(perSecond, time.Now, sleep)
}

// NewThrottleClock is NewThrottle on an injected clock, for tests.
func NewThrottleClock(perSecond float64, now func() time.Time, sleep func(context.Context, time.Duration) bool) *Throttle {
	if perSecond <= 0 {
		return nil
	}
	return &Throttle{rate: perSecond, now: now, sleep: sleep}
}

// Wait blocks until n units may be used, or ctx ends. A nil Throttle
// never waits.
func (t *Throttle) Wait(ctx context.Context, n int) error {
	if t == nil || n <= 0 {
		return nil
	}
	t.mu.Lock()
	now := t.now()
	if t.next.Before(now) {
		t.next = now
	}
	wait := t.next.Sub(now)
	t.next = t.next.Add(time.Duration(float64(n) / t.rate * float64(time.Second)))
	t.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	if !t.sleep(ctx, wait) {
		return ctx.Err()
	}
	return nil
}

// reader throttles the bytes read from r.
func (t *Throttle) reader(ctx context.Context, r io.Reader) io.Reader {
	if t == nil {
		return r
	}
	return &throttledReader{ctx: ctx, r: r, t: t}
}

type throttledReader struct {
	ctx context.Context // the read's own context, for the one Read call chain
	r   io.Reader
	t   *Throttle
}

func (tr *throttledReader) Read(p []byte) (int, error) {
	n, err := tr.r.Read(p)
	if werr := tr.t.Wait(tr.ctx, n); werr != nil && err == nil {
		err = werr
	}
	return n, err
}

// RetryAfterError is a Temporary refusal that says how long to wait before
// trying again (Microsoft 365: "Request is throttled. Suggested Backoff
// Time: 150 ms"). The retry waits at least that long.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// retryAfter is the wait a refusal asks for, 0 when it names none.
func retryAfter(err error) time.Duration {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.After
	}
	return 0
}

// Rate is the units a second the throttle allows; 0 for a nil Throttle.
func (t *Throttle) Rate() float64 {
	if t == nil {
		return 0
	}
	return t.rate
}
