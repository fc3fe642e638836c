package pop3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/transfer"
)

// Inbox is the one folder a POP3 maildrop has.
const Inbox = "INBOX"

// Options configure a Source.
type Options struct {
	// Addr is host:port.
	Addr string
	// Security is implicit TLS (pop3s://, port 995), STLS (pop3://, refused
	// when the server does not offer it) or plaintext (?tls=none).
	Security account.Security
	// TLSConfig is used for TLS; nil means the system roots and the host
	// of Addr as server name.
	TLSConfig *tls.Config
	// Credentials log in: an OAuth2 token (XOAUTH2 or OAUTHBEARER) when
	// OAuth2Token is set and the server offers one of them, else SASL PLAIN
	// when offered, else USER/PASS.
	Credentials account.Credentials
	// Timeout bounds every read and write: a server silent for this long
	// fails the command with a temporary error. 0 means 60s.
	Timeout time.Duration
	// Warn receives warnings (no UIDL, duplicate UIDLs); nil discards them.
	Warn func(string)
	// Sessions is the most sessions to read the maildrop over at once
	// (up to maxSessions, where the server lets them share it); 0 means
	// one. One is the default because on a server near by one pipelined
	// session already keeps the machine busy and each more session costs
	// a handshake and a login; the others pay where the link, not the
	// machine, bounds a session.
	Sessions int
}

// Source reads the maildrop of one POP3 account, over several sessions at
// once where the server lets them share the maildrop (see pool), else
// over one at a time.
type Source struct {
	opts Options
	pool pool
	// fetchers is what MaxFetchers says: Options.Sessions (at most
	// maxSessions) when the server lists UIDL in CAPA, else 1.
	fetchers int
}

var (
	_ transfer.Source   = (*Source)(nil)
	_ transfer.Fetchers = (*Source)(nil)
	_ transfer.Deleter  = (*Source)(nil)
)

// New connects and logs in once, so a wrong password or an unreachable
// server fails at once (a wrong password with a Fatal error naming server
// and user). The session stays open for the calls that follow.
func New(ctx context.Context, opts Options) (*Source, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	opts.Warn = onceEach(opts.Warn)
	if _, _, err := net.SplitHostPort(opts.Addr); err != nil {
		return nil, transfer.FatalError(fmt.Errorf("pop3: server address %q: %w", opts.Addr, err))
	}
	s := &Source{opts: opts}
	sess, err := s.dial(ctx, true)
	if err != nil {
		return nil, err
	}
	s.fetchers = 1
	if sess.capaOK && hasKey(sess.caps, "UIDL") && opts.Sessions > 1 {
		// Without UIDL every session would read every header to
		// identify the messages.
		s.fetchers = min(opts.Sessions, maxSessions)
	}
	s.pool = pool{idle: []*session{sess}, limit: s.fetchers, wake: make(chan struct{})}
	return s, nil
}

// MaxFetchers is how many Fetch calls may run at once: up to
// Options.Sessions sessions when the server offers UIDL (fewer if it
// refuses more), else 1.
func (s *Source) MaxFetchers() int { return s.fetchers }

func (s *Source) checkFolder(folder string) error {
	if folder != Inbox {
		return transfer.FatalError(fmt.Errorf("pop3 server %s: no folder %q: a POP3 maildrop has only %s", s.opts.Addr, folder, Inbox))
	}
	return nil
}

// Folders returns the one folder, INBOX, with its message count and size.
func (s *Source) Folders(ctx context.Context) ([]transfer.Folder, error) {
	sess, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	var count, size int
	err = sess.do(ctx, "STAT", func() (err error) { count, size, err = sess.c.Stat(); return })
	s.release(sess, err)
	if err != nil {
		return nil, err
	}
	return []transfer.Folder{{Name: Inbox, Messages: count, Bytes: int64(size)}}, nil
}

// listed returns a session with its listing of the maildrop, for folder,
// which must be INBOX. The caller releases the session.
func (s *Source) listed(ctx context.Context, folder string) (*session, error) {
	if err := s.checkFolder(folder); err != nil {
		return nil, err
	}
	sess, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	if sess.listing == nil {
		l, err := sess.list(ctx, s.opts.Warn)
		if err != nil {
			s.release(sess, err)
			return nil, err
		}
		s.share(sess, l)
	}
	return sess, nil
}

// List returns the maildrop: ID is the UIDL (or a header hash, see the
// package doc), Size the size from LIST, no flags (unseen), CRLF true. Date
// is zero unless the header was read to identify the message; Fetch sets it.
func (s *Source) List(ctx context.Context, folder string) ([]transfer.Message, error) {
	sess, err := s.listed(ctx, folder)
	if err != nil {
		return nil, err
	}
	defer s.release(sess, nil)
	out := make([]transfer.Message, 0, len(sess.listing.msgs))
	for _, l := range sess.listing.msgs {
		// The LIST size is the message's octets in CRLF form.
		m := transfer.Message{Folder: Inbox, ID: l.id, Size: l.size, VirtualSize: l.size, CRLF: true}
		if l.header != nil {
			m.Date = MessageDate(l.header)
		}
		out = append(out, m)
	}
	return out, nil
}

// Fetch retrieves msgs with RETR, in the given order, and calls fn with
// the exact bytes (dot-unstuffed, CRLF), streamed as they arrive, and the
// Message's Date set from its Received:/Date: header (see MessageDate).
// With PIPELINING the RETRs are sent ahead (retr.go). Concurrent calls
// use sessions of their own where the server allows (see pool). Messages
// are found by ID in the session's listing, so a session opened again
// after a dropped connection maps them afresh. A message no longer on the
// server is a per-message error; Fetch goes on and returns those errors
// at the end. A failed connection or a timeout ends Fetch with a
// temporary error; the messages fn did not receive whole are then fetched
// again by the caller, none twice.
func (s *Source) Fetch(ctx context.Context, folder string, msgs []transfer.Message, fn func(transfer.Message, io.Reader) error) error {
	sess, err := s.listed(ctx, folder)
	if err != nil {
		return err
	}
	err = s.fetchOn(ctx, sess, folder, msgs, fn)
	s.release(sess, err)
	return err
}

// fetchOn is Fetch on one session. A failed pipeline closes the session:
// answers may still be on their way.
func (s *Source) fetchOn(ctx context.Context, sess *session, folder string, msgs []transfer.Message, fn func(transfer.Message, io.Reader) error) error {
	var perMessage []error
	todo := make([]retrieval, 0, len(msgs))
	for _, m := range msgs {
		num, ok := sess.listing.byID[m.ID]
		if !ok {
			perMessage = append(perMessage, transfer.PerMessageError(&transfer.MessageError{
				Folder: folder, ID: m.ID,
				Err: fmt.Errorf("pop3 server %s: message is no longer in the maildrop", s.opts.Addr),
			}))
			continue
		}
		todo = append(todo, retrieval{num: num, msg: m})
	}
	window := 1
	if hasKey(sess.caps, "PIPELINING") {
		window = retrWindow
	}
	deliver := func(t retrieval, head []byte, body io.Reader) error {
		got := t.msg
		got.Folder = folder
		got.Flags = nil
		got.CRLF = true
		got.Date = MessageDate(head)
		// got.Size stays the LIST size, a hint: the spool learns the
		// exact one.
		return fn(got, body)
	}
	refused := func(t retrieval, err error) {
		perMessage = append(perMessage, transfer.PerMessageError(&transfer.MessageError{Folder: folder, ID: t.msg.ID, Err: err}))
	}
	stop := context.AfterFunc(ctx, func() { sess.dc.Conn.Close() })
	err := sess.retrPipeline(todo, window, deliver, refused)
	stop()
	if err != nil {
		sess.close()
		if ctx.Err() != nil {
			return fmt.Errorf("pop3 server %s: RETR: %w", s.opts.Addr, ctx.Err())
		}
		var r *refusal
		if errors.As(err, &r) && transfer.ClassOf(r.err) == transfer.Fatal {
			return transfer.FatalError(&transfer.MessageError{Folder: folder, ID: r.t.msg.ID, Err: r.err})
		}
		return err
	}
	return errors.Join(perMessage...)
}

// Delete marks msgs with DELE and ends the session with QUIT, which is when
// the server deletes them; a crash before QUIT deletes nothing. Messages no
// longer on the server are passed over. The other idle sessions end with
// QUIT too, marking nothing (their listings still show the deleted
// messages); the next call opens a new session.
func (s *Source) Delete(ctx context.Context, folder string, msgs []transfer.Message) error {
	if len(msgs) == 0 {
		return s.checkFolder(folder)
	}
	sess, err := s.listed(ctx, folder)
	if err != nil {
		return err
	}
	var perMessage []error
	for _, m := range msgs {
		num, ok := sess.listing.byID[m.ID]
		if !ok {
			continue
		}
		err := sess.do(ctx, "DELE", func() error { return sess.c.Dele(num) })
		if err != nil {
			if transfer.ClassOf(err) == transfer.PerMessage && !sess.broken() {
				perMessage = append(perMessage, transfer.PerMessageError(&transfer.MessageError{Folder: folder, ID: m.ID, Err: err}))
				continue
			}
			// Nothing is deleted: the session ends without QUIT.
			sess.close()
			s.release(sess, err)
			return err
		}
	}
	others := s.retire()
	err = sess.quit(ctx)
	for _, o := range others {
		o.quitWithin(s.opts.Timeout)
	}
	if err != nil {
		return fmt.Errorf("deleting %d messages: %w", len(msgs), err)
	}
	return errors.Join(perMessage...)
}

// Close ends the idle sessions with QUIT, within quitWait all together.
// No deletion is pending then: Delete ends its own session.
func (s *Source) Close() error {
	p := &s.pool
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.notify()
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), min(s.opts.Timeout, quitWait))
	defer cancel()
	var errs []error
	for _, sess := range idle {
		if sess.broken() {
			sess.close()
			continue
		}
		errs = append(errs, sess.quit(ctx))
	}
	return errors.Join(errs...)
}

// quitWait bounds the QUIT in Close, which also runs when a run is
// stopping; nothing waits to be deleted then, so it is only a courtesy.
const quitWait = 3 * time.Second

// onceEach wraps warn so each distinct warning is given once, although
// every new session finds the same things again.
func onceEach(warn func(string)) func(string) {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(s string) {
		mu.Lock()
		defer mu.Unlock()
		if warn == nil || seen[s] {
			return
		}
		seen[s] = true
		warn(s)
	}
}

// serverError returns the *ServerError in err, or nil.
func serverError(err error) *ServerError {
	var se *ServerError
	if errors.As(err, &se) {
		return se
	}
	return nil
}

// headerBlock returns the header block of a message, including the blank
// line that ends it.
func headerBlock(b []byte) []byte {
	return append([]byte(nil), b[:formats.HeaderEnd(b)]...)
}
