package pop3

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"time"

	gopop3 "github.com/knadh/go-pop3"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/readbuf"
	"github.com/mailferry/mailferry/transfer"
)

// session is one logged-in POP3 connection (the TRANSACTION state). Its
// message numbers are valid only for its lifetime; the maildrop it sees is
// fixed when it logs in.
type session struct {
	server string
	dc     *deadlineConn
	c      *gopop3.Conn
	// conn is the connection go-pop3 was given; RETR is read from it
	// through br (retr.go).
	conn   net.Conn
	br     *bufio.Reader
	caps   map[string]string
	capaOK bool

	// listing is the maildrop as this session sees it, once listed;
	// shared with the other sessions that list the same (see pool).
	listing *listing
	// gen is the pool's generation the session was opened in.
	gen int
}

// listing is a session's list of the maildrop.
type listing struct {
	msgs []listed       // in message-number order
	byID map[string]int // Message.ID → message number
}

// sameAs reports whether two sessions list the same messages under the
// same numbers.
func (l *listing) sameAs(o *listing) bool {
	if len(l.msgs) != len(o.msgs) {
		return false
	}
	for i, m := range l.msgs {
		n := o.msgs[i]
		if m.num != n.num || m.id != n.id || m.size != n.size {
			return false
		}
	}
	return true
}

// listed is one message as the session sees it.
type listed struct {
	num  int
	id   string
	size int64
	// header is the header block when it was read to identify the message
	// (servers without UIDL); nil otherwise.
	header []byte
}

// dial opens, secures and authenticates a session. The authorization
// exchange is done here; go-pop3 takes over the connection afterwards.
// first is set for the first session of a run, whose connection errors
// that cannot heal are Fatal (see account.CannotHeal).
func (s *Source) dial(ctx context.Context, first bool) (*session, error) {
	o := s.opts
	raw, err := (&net.Dialer{Timeout: o.Timeout}).DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pop3 server %s: connecting: %w", o.Addr, ctx.Err())
		}
		return nil, s.unreachable(first, connError(o.Addr, "connecting", err))
	}
	dc := &deadlineConn{Conn: raw, timeout: o.Timeout}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	sess, err := s.authorize(ctx, dc)
	stop()
	if err != nil {
		raw.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pop3 server %s: logging in: %w", o.Addr, ctx.Err())
		}
		return nil, s.unreachable(first, err)
	}
	return sess, nil
}

// unreachable adds advice to a connection error that trying again will
// not mend, and makes it Fatal on the first session.
func (s *Source) unreachable(first bool, err error) error {
	hint := account.CannotHeal("pop3", s.opts.Security, s.opts.Credentials.User, s.opts.Addr, err)
	switch {
	case hint == "":
		return err
	case first:
		return transfer.FatalError(fmt.Errorf("%w; %s", err, hint))
	}
	return transfer.TemporaryError(fmt.Errorf("%w; %s", err, hint))
}

func (s *Source) authorize(ctx context.Context, dc *deadlineConn) (*session, error) {
	o := s.opts
	h := &handshake{server: o.Addr, conn: dc}
	if o.Security == account.SecurityTLS {
		tc := tls.Client(readbuf.New(dc), s.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, tlsError(o.Addr, err)
		}
		h.conn = tc
	}
	h.r = bufio.NewReaderSize(h.conn, 4096)
	greeting, err := h.readLine("greeting")
	if err != nil {
		return nil, err
	}
	if _, err := h.parseStatus("greeting", greeting); err != nil {
		return nil, err
	}
	if err := h.capa(); err != nil {
		return nil, err
	}
	if o.Security == account.SecurityStartTLS {
		if err := h.startTLS(ctx, s.tlsConfig()); err != nil {
			return nil, err
		}
	}
	if err := h.login(ctx, o.Credentials); err != nil {
		return nil, err
	}
	// Hand the connection to go-pop3: it reads the greeting again, then
	// anything the reader above had already buffered.
	pending := []byte(greeting + "\r\n")
	if n := h.r.Buffered(); n > 0 {
		extra, _ := h.r.Peek(n)
		pending = append(pending, extra...)
	}
	host, portText, _ := net.SplitHostPort(o.Addr)
	port, _ := strconv.Atoi(portText)
	conn := &replayConn{Conn: h.conn, pending: pending}
	client := gopop3.New(gopop3.Opt{
		Host:   host,
		Port:   port,
		Dialer: staticDialer{conn: conn},
	})
	c, err := client.NewConn()
	if err != nil {
		return nil, connError(o.Addr, "greeting", err)
	}
	return &session{server: o.Addr, dc: dc, c: c, conn: conn, caps: h.caps, capaOK: h.capaOK}, nil
}

func (s *Source) tlsConfig() *tls.Config {
	cfg := s.opts.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{}
	} else {
		cfg = cfg.Clone()
	}
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		host, _, err := net.SplitHostPort(s.opts.Addr)
		if err != nil {
			host = s.opts.Addr
		}
		cfg.ServerName = host
	}
	return cfg
}

// do runs one go-pop3 call with the context able to abort it (by closing
// the connection) and its error classified.
func (sess *session) do(ctx context.Context, command string, call func() error) error {
	stop := context.AfterFunc(ctx, func() { sess.dc.Conn.Close() })
	err := call()
	stop()
	return libraryError(ctx, sess.dc, sess.server, command, err)
}

// broken reports whether the connection can no longer be used.
func (sess *session) broken() bool { return sess.dc.ioErr() != nil }

// close ends the session without QUIT, so nothing marked for deletion is
// deleted.
func (sess *session) close() {
	sess.dc.fail(net.ErrClosed)
	sess.dc.Conn.Close()
}

// quit ends the session with QUIT, which makes the server apply the
// deletions marked in it.
func (sess *session) quit(ctx context.Context) error {
	defer sess.close()
	return sess.do(ctx, "QUIT", sess.c.Quit)
}

// quitWithin is quit for a session with nothing marked, bounded by
// timeout and quitWait: a courtesy, whose failure changes nothing.
func (sess *session) quitWithin(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), min(timeout, quitWait))
	defer cancel()
	sess.quit(ctx)
}

// list reads the maildrop's message list: UIDL for the identities and
// LIST for the sizes. Without UIDL, each message is identified by a hash
// of its header block and size (see hashID).
func (sess *session) list(ctx context.Context, warn func(string)) (*listing, error) {
	var sizes []gopop3.MessageID
	if err := sess.do(ctx, "LIST", func() (err error) { sizes, err = sess.c.List(0); return }); err != nil {
		return nil, err
	}
	var uids []gopop3.MessageID
	uidl := !sess.capaOK || hasKey(sess.caps, "UIDL")
	if uidl {
		err := sess.do(ctx, "UIDL", func() (err error) { uids, err = sess.c.Uidl(0); return })
		if se := serverError(err); se != nil && !sess.capaOK {
			uidl = false // an RFC 1939 server without the optional UIDL
		} else if err != nil {
			return nil, err
		}
	}
	uidOf := make(map[int]string, len(uids))
	for _, u := range uids {
		uidOf[u.ID] = u.UID
	}
	l := &listing{msgs: make([]listed, 0, len(sizes)), byID: make(map[string]int, len(sizes))}
	seen := map[string]int{}
	if !uidl {
		warn(fmt.Sprintf("pop3 server %s has no UIDL: identifying messages by a hash of their header and size, which reads every message header (TOP) on every run", sess.server))
	}
	for _, m := range sizes {
		e := listed{num: m.ID, size: int64(m.Size)}
		if uidl {
			uid, ok := uidOf[m.ID]
			if !ok {
				return nil, transfer.TemporaryError(fmt.Errorf("pop3 server %s: UIDL did not list message %d", sess.server, m.ID))
			}
			e.id = uid
		} else {
			header, err := sess.header(ctx, m.ID)
			if err != nil {
				return nil, err
			}
			e.header = header
			e.id = hashID(header, e.size)
		}
		// Identical identities (identical copies without UIDL, or a
		// server handing out a UIDL twice) are told apart by order.
		seen[e.id]++
		if n := seen[e.id]; n > 1 {
			if uidl {
				warn(fmt.Sprintf("pop3 server %s lists UIDL %q more than once; the copies are told apart by their order", sess.server, e.id))
			}
			e.id += "#" + strconv.Itoa(n)
		}
		l.byID[e.id] = m.ID
		l.msgs = append(l.msgs, e)
	}
	return l, nil
}

// header reads a message's header block with TOP n 0, or with RETR when the
// server refuses TOP.
func (sess *session) header(ctx context.Context, num int) ([]byte, error) {
	var b []byte
	err := sess.do(ctx, "TOP", func() error {
		buf, err := sess.c.Cmd("TOP", true, num, 0)
		if err == nil {
			b = buf.Bytes()
		}
		return err
	})
	if serverError(err) != nil {
		err = sess.do(ctx, "RETR", func() error {
			buf, err := sess.c.RetrRaw(num)
			if err == nil {
				b = buf.Bytes()
			}
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return headerBlock(b), nil
}

// hashID is the identity of a message on a server without UIDL.
func hashID(header []byte, size int64) string {
	h := sha256.New()
	h.Write(header)
	fmt.Fprintf(h, "\x00%d", size)
	return "sha256-" + hex.EncodeToString(h.Sum(nil)[:16])
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
