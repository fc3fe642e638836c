package imap

import (
	"context"
	"sync"

	"github.com/mailferry/mailferry/internal/imapconn"
)

// pipeWindow is how many APPENDs one connection carries at once. Put waits
// for its own APPEND's answer, so what is in flight is at most the number
// of concurrent Puts. They are spread over the pool's connections first
// and stacked on one only when every connection carries one already: a
// server stores the APPENDs of one connection one after the other (Dovecot
// syncs each to disk before it answers), so four connections with one
// APPEND each measured more than twice as fast as one connection with four.
const pipeWindow = 8

// pipes hands out APPEND pipelines, each on a connection of the pool. A
// pipeline takes a connection when the first APPEND needs one and gives it
// back to the pool as soon as nothing is in flight, so folder set-up and
// the clean-up after a broken APPEND always get a connection in time.
type pipes struct {
	pool *imapconn.Pool
	max  int // pipes at most
	// tokens bounds the APPENDs in flight over all pipes.
	tokens chan struct{}

	mu       sync.Mutex
	active   []*pipeSlot
	starting int // pipes being started
}

type pipeSlot struct {
	c     *imapconn.Conn
	p     *imapconn.AppendPipe
	users int // Puts between acquire and release
}

func newPipes(pool *imapconn.Pool) *pipes {
	return &pipes{pool: pool, max: pool.Size(), tokens: make(chan struct{}, pool.Size()*pipeWindow)}
}

// acquire returns a pipeline with room for one more APPEND command, of
// window at most on one connection: an idle one, else a new one while the
// pool allows, else the least busy.
func (ps *pipes) acquire(ctx context.Context, window int) (*pipeSlot, error) {
	select {
	case ps.tokens <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ps.mu.Lock()
	var best *pipeSlot
	for _, s := range ps.active {
		if s.users < window && !s.p.Broken() && (best == nil || s.users < best.users) {
			best = s
		}
	}
	if best != nil && (best.users == 0 || len(ps.active)+ps.starting >= ps.max) {
		best.users++
		ps.mu.Unlock()
		return best, nil
	}
	ps.starting++
	ps.mu.Unlock()
	c, err := ps.pool.Get(ctx)
	var p *imapconn.AppendPipe
	if err == nil {
		if p, err = c.StartAppendPipe(); err != nil {
			ps.pool.Put(c)
		}
	}
	ps.mu.Lock()
	ps.starting--
	var s *pipeSlot
	if err == nil {
		s = &pipeSlot{c: c, p: p, users: 1}
		ps.active = append(ps.active, s)
	}
	ps.mu.Unlock()
	if err != nil {
		<-ps.tokens
		return nil, err
	}
	return s, nil
}

// release ends one Put's use of s. The last user of a pipeline gives its
// connection back (a broken one is closed by the pool).
func (ps *pipes) release(s *pipeSlot) {
	ps.mu.Lock()
	s.users--
	last := s.users == 0
	if last {
		for i, a := range ps.active {
			if a == s {
				ps.active = append(ps.active[:i], ps.active[i+1:]...)
				break
			}
		}
	}
	ps.mu.Unlock()
	if last {
		s.p.Close()
		ps.pool.Put(s.c)
	}
	<-ps.tokens
}
