package pop3

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/transfer"
)

// maxSessions is how many sessions a Source holds at once on a server
// that lets several read one maildrop (Dovecot does by default:
// pop3_lock_session=no). Transfer bounds it further by --connections.
// Each session RETRs the chunk it was given, so two or more keep a server
// process and the client busy for each; four already fill the two cores of
// a small machine.
const maxSessions = 4

// pool holds the logged-in sessions of a Source: the idle ones, and how
// many are in use. A Fetch takes one (acquire) and gives it back
// (release); a session is used by one caller at a time, so it needs no
// lock of its own.
//
// A second session is opened only while every open one is in use, and
// only if the server offers UIDL (messages are then the same in every
// session's listing). When the server refuses it (a maildrop lock,
// [IN-USE]; a connection limit) or lists the maildrop differently from the
// sessions already open (mail arrived in between, or a server that shows
// each session a part), it is closed and the pool keeps to the sessions it
// has: the callers wait for one of them instead.
type pool struct {
	mu    sync.Mutex
	idle  []*session
	busy  int // sessions handed out or being opened
	limit int // most sessions to hold; lowered when one is refused
	// growing is set while one more session is being opened beside
	// those open: one at a time, so a server that refuses a second
	// session is asked once, not by every waiting caller.
	growing bool
	wake    chan struct{} // closed when a session is released; then replaced
	// listing is the maildrop as the sessions open now list it, shared
	// by all of them; nil until one has listed it.
	listing *listing
	// gen counts Deletes: a session opened before the last one saw
	// messages that are gone, and is ended when it is released.
	gen    int
	closed bool
	// silent counts the sessions in a row whose server did not answer.
	silent int
}

// silentDials is how many new sessions in a row may get no answer
// (account.ErrNoAnswer) before the source gives up on the server: each has
// waited the whole timeout, so without a bound every retry would wait it
// out again.
const silentDials = 2

// errClosed is returned by calls after Close.
var errClosed = errors.New("pop3: source is closed")

// notify wakes the callers waiting for a session. p.mu is held.
func (p *pool) notify() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// acquire returns a logged-in session for the caller's use alone: an idle
// one, a new one while fewer than limit are open, or the next one released.
func (s *Source) acquire(ctx context.Context) (*session, error) {
	p := &s.pool
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			return nil, transfer.FatalError(errClosed)
		}
		if err := ctx.Err(); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		if n := len(p.idle); n > 0 {
			sess := p.idle[n-1]
			p.idle = p.idle[:n-1]
			if sess.broken() {
				// The connection broke while it was idle.
				sess.close()
				continue
			}
			p.busy++
			p.mu.Unlock()
			return sess, nil
		}
		if p.busy < p.limit && (p.busy == 0 || !p.growing) {
			p.busy++
			alone := p.busy == 1
			p.growing = !alone
			listing, gen := p.listing, p.gen
			p.mu.Unlock()
			sess, err := s.openSession(ctx, alone, listing)
			p.mu.Lock()
			if !alone {
				p.growing = false
				p.notify()
			}
			if err == nil && gen == p.gen {
				sess.gen = gen
				p.mu.Unlock()
				return sess, nil
			}
			p.busy--
			if err == nil {
				// A Delete ended the generation meanwhile: the
				// listing compared against is gone.
				p.mu.Unlock()
				sess.close()
				p.mu.Lock()
				continue
			}
			if alone || ctx.Err() != nil {
				p.notify()
				p.mu.Unlock()
				return nil, err
			}
			// One more session is not to be had: wait for the open ones.
			p.limit = max(p.busy+len(p.idle), 1)
			continue
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
		}
		p.mu.Lock()
	}
}

// openSession dials a session. alone says no other session is open: its
// failures are the caller's (and count towards silentDials). Otherwise
// the session is one more beside those open, and must list the maildrop as
// they do (shared), or it is closed and an error returned.
func (s *Source) openSession(ctx context.Context, alone bool, shared *listing) (*session, error) {
	p := &s.pool
	sess, err := s.dial(ctx, false)
	if alone {
		if errors.Is(err, account.ErrNoAnswer) && ctx.Err() == nil {
			p.mu.Lock()
			p.silent++
			n := p.silent
			p.mu.Unlock()
			if n >= silentDials {
				return nil, transfer.FatalError(fmt.Errorf("%w; %d new sessions in a row got no answer, so the server is given up on (what was copied is recorded; run again later)", err, n))
			}
		}
		if err != nil {
			return nil, err
		}
		p.mu.Lock()
		p.silent = 0
		p.mu.Unlock()
		return sess, nil
	}
	if err != nil {
		return nil, err
	}
	if shared != nil {
		l, err := sess.list(ctx, s.opts.Warn)
		if err != nil {
			sess.close()
			return nil, err
		}
		if !l.sameAs(shared) {
			sess.quitWithin(s.opts.Timeout)
			return nil, errors.New("pop3: the new session lists the maildrop differently")
		}
		sess.listing = shared
	}
	return sess, nil
}

// release gives a session back after use; err is what the use returned.
// A session that cannot go on (a broken connection, a temporary error, an
// interruption) is closed without QUIT, so nothing marked is deleted; one
// opened before the last Delete, or released after Close, ends with QUIT.
func (s *Source) release(sess *session, err error) {
	p := &s.pool
	unusable := sess.broken() || (err != nil && (transfer.ClassOf(err) == transfer.Temporary ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)))
	p.mu.Lock()
	p.busy--
	stale := sess.gen != p.gen || p.closed
	if !unusable && !stale {
		p.idle = append(p.idle, sess)
	}
	p.notify()
	p.mu.Unlock()
	switch {
	case unusable:
		sess.close()
	case stale:
		sess.quitWithin(s.opts.Timeout)
	}
}

// share sets the session's listing, shared with the other open sessions
// when it lists the same messages; the first session to list the
// maildrop sets the one the others are compared with.
func (s *Source) share(sess *session, l *listing) {
	p := &s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.listing != nil && l.sameAs(p.listing):
		l = p.listing
	case sess.gen == p.gen && p.busy+len(p.idle) == 1:
		p.listing = l
	}
	sess.listing = l
}

// retire ends the generation of the open sessions after sess, which is
// not released, marked messages for deletion: the idle sessions are
// returned for their QUIT, and the ones in use end when released.
func (s *Source) retire() []*session {
	p := &s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	p.busy--
	p.gen++
	p.listing = nil
	idle := p.idle
	p.idle = nil
	p.notify()
	return idle
}
