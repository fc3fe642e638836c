package imapconn

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/mailferry/mailferry/transfer"
)

// Pool hands out up to Options.Connections logged-in connections to one
// account. A connection given back broken (after any protocol error or
// timeout) is closed; the next Get dials a fresh one. Get and Put are safe
// for concurrent use.
type Pool struct {
	opts Options
	sem  chan struct{}

	mu     sync.Mutex
	idle   []*Conn
	info   *ServerInfo
	closed bool
	fatal  error
	// silent counts the new connections in a row that got no answer.
	silent int
}

// silentDials is how many new connections in a row may get no answer
// (account.ErrNoAnswer) before the pool gives up on the server: each has
// waited the whole timeout, so without a bound the run's retries would
// wait it out again for every message.
const silentDials = 2

// NewPool logs in once, so a wrong password fails at once with a Fatal
// error naming server and user, and keeps that connection for later use.
func NewPool(ctx context.Context, opts Options) (*Pool, error) {
	p := &Pool{opts: opts, sem: make(chan struct{}, opts.connections())}
	c, err := Dial(ctx, &p.opts, nil)
	if err != nil {
		return nil, err
	}
	p.info = c.Info
	p.idle = append(p.idle, c)
	return p, nil
}

// Info describes the server as the first connection found it.
func (p *Pool) Info() *ServerInfo { return p.info }

// Options returns the options the pool dials with.
func (p *Pool) Options() *Options { return &p.opts }

// Size is the most connections the pool opens at once.
func (p *Pool) Size() int { return cap(p.sem) }

// ErrClosed is returned by Get after Close.
var ErrClosed = errors.New("imap connection pool closed")

// Get returns an idle connection or dials a new one, waiting while all
// connections are in use. A login that fails on a new connection is Fatal
// and makes every later Get fail the same way, so workers do not storm the
// server with logins. So do silentDials new connections in a row that the
// server accepts and leaves unanswered: the run then ends within a few
// timeouts instead of waiting one out for every retry of every message.
func (p *Pool) Get(ctx context.Context) (*Conn, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return nil, ErrClosed
	}
	if p.fatal != nil {
		err := p.fatal
		p.mu.Unlock()
		<-p.sem
		return nil, err
	}
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if c.Broken() {
			go c.Close()
			continue
		}
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	c, err := Dial(ctx, &p.opts, p.info)
	p.mu.Lock()
	switch {
	case err == nil:
		p.silent = 0
	case ctx.Err() != nil:
	case errors.Is(err, ErrTimeout):
		p.silent++
		if p.silent >= silentDials {
			err = transfer.FatalError(fmt.Errorf("%w; %d new connections in a row got no answer, so the server is given up on (what was copied is recorded; run again later)", err, p.silent))
			p.fatal = err
		}
	case transfer.ClassOf(err) == transfer.Fatal:
		p.fatal = err
	}
	p.mu.Unlock()
	if err != nil {
		<-p.sem
		return nil, err
	}
	return c, nil
}

// Put gives c back. A broken connection is closed.
func (p *Pool) Put(c *Conn) {
	if c == nil {
		return
	}
	p.mu.Lock()
	if p.closed || c.Broken() {
		p.mu.Unlock()
		go c.Close()
		<-p.sem
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
	<-p.sem
}

// Close logs out of every idle connection. Connections in use are closed
// when they are put back.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range idle {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Close()
		}()
	}
	wg.Wait()
	return nil
}
