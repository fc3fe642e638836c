// Package pop3server is a small POP3 server (RFC 1939 with CAPA, UIDL, TOP,
// STLS, USER/PASS and SASL PLAIN/XOAUTH2 from RFC 2449, 2595 and 5034) for
// one maildrop, listening on 127.0.0.1. It exists so tests and
// `mailferry demo` can run a POP3 source without an outside server, and it
// can misbehave on purpose (stall or drop the connection in the middle of a
// RETR, refuse with [IN-USE], lack UIDL) so the client's error handling can
// be tested.
//
// It behaves like the servers mailferry meets: one session at a time holds
// the maildrop lock (or, with SharedMaildrop, any number of sessions read
// it at once, as Dovecot's do), message numbers are fixed for a session,
// DELE only marks a message and the marks are applied by a clean QUIT, and
// RETR sends the message in network form (bare LF turned into CRLF) with
// lines that start with "." byte-stuffed.
package pop3server

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/mailferry/mailferry/formats"
)

// Message is one message of the maildrop.
type Message struct {
	// UID is the UIDL identifier; empty means the server assigns one.
	UID string
	// Body is the message as stored. RETR sends it with bare LF turned into
	// CRLF, and with CRLF appended when it does not end in a line break.
	Body []byte
}

// Options configure a Server.
type Options struct {
	// User and Password are the only credentials accepted (USER/PASS and
	// AUTH PLAIN). User "" means "alice", Password "" means "secret".
	User, Password string
	// OAuth2Token, when set, is accepted by AUTH XOAUTH2 for User.
	OAuth2Token string
	// Messages is the initial maildrop.
	Messages []Message
	// TLSConfig enables STLS (and implicit TLS with ImplicitTLS).
	TLSConfig *tls.Config
	// ImplicitTLS makes every connection TLS from the first byte.
	ImplicitTLS bool
	// NoUIDL makes the server lack UIDL, as some old servers do.
	NoUIDL bool
	// NoSASL hides the SASL capability and refuses AUTH.
	NoSASL bool
	// SharedMaildrop lets several sessions hold the maildrop at once, as
	// Dovecot does with pop3_lock_session=no (its default): each sees the
	// maildrop as it was when it logged in, and its clean QUIT removes
	// the messages it marked.
	SharedMaildrop bool
	// Faults is the initial fault injection; see SetFaults.
	Faults Faults
	// OnCommand, when set, is called with every command line (upper-case
	// command name and argument, passwords included) before the server
	// handles it. Tests use it to act at an exact point of a session, such
	// as killing the client when it sends QUIT.
	OnCommand func(cmd, arg string)
}

// Faults make the server misbehave for tests. A fault with Times > 0 fires
// that many times and then stops; with Times == 0 it fires every time.
type Faults struct {
	// StallRETRAfter > 0 stops a RETR response after that many bytes and
	// sends nothing more until the client closes the connection.
	StallRETRAfter int64
	// DropRETRAfter > 0 closes the connection after that many bytes of a
	// RETR response.
	DropRETRAfter int64
	// LoginError, when not empty, is the text sent after "-ERR " in reply
	// to PASS or AUTH, e.g. "[IN-USE] maildrop locked" or
	// "[SYS/TEMP] try later".
	LoginError string
	// QuitError, when not empty, is the text sent after "-ERR " in reply to
	// QUIT; the deletions of that session are not applied.
	QuitError string
	// Times bounds how often the faults fire; 0 means always.
	Times int
}

// Server is a running POP3 server.
type Server struct {
	opts Options
	ln   net.Listener

	mu       sync.Mutex
	drop     []stored
	nextUID  int
	holders  int // sessions holding the maildrop
	faults   Faults
	fired    int
	conns    map[net.Conn]bool
	closed   bool
	sessions int
	wg       sync.WaitGroup
}

type stored struct {
	uid  string
	body []byte // network form
}

// Start listens on 127.0.0.1 on a free port and serves until Close.
func Start(opts Options) (*Server, error) {
	if opts.User == "" {
		opts.User = "alice"
	}
	if opts.Password == "" {
		opts.Password = "secret"
	}
	if opts.ImplicitTLS && opts.TLSConfig == nil {
		return nil, errors.New("pop3server: ImplicitTLS needs a TLSConfig")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pop3server: %w", err)
	}
	if opts.ImplicitTLS {
		ln = tls.NewListener(ln, opts.TLSConfig)
	}
	s := &Server{opts: opts, ln: ln, faults: opts.Faults, conns: map[net.Conn]bool{}}
	for _, m := range opts.Messages {
		s.add(m)
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// User is the accepted user name.
func (s *Server) User() string { return s.opts.User }

// Password is the accepted password.
func (s *Server) Password() string { return s.opts.Password }

// AddMessage appends a message to the maildrop. Sessions already open do not
// see it (their message list is fixed when they log in).
func (s *Server) AddMessage(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(m)
}

func (s *Server) add(m Message) {
	s.nextUID++
	uid := m.UID
	if uid == "" {
		uid = "m" + strconv.Itoa(s.nextUID)
	}
	s.drop = append(s.drop, stored{uid: uid, body: networkForm(m.Body)})
}

// Messages returns the maildrop as it is now, in network form.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.drop))
	for i, m := range s.drop {
		out[i] = Message{UID: m.uid, Body: append([]byte(nil), m.body...)}
	}
	return out
}

// SetFaults replaces the fault injection; it applies to commands that start
// afterwards.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.fired = 0
}

// Sessions is how many connections the server has accepted so far.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Close stops the server and closes every connection.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.sessions++
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			sess := &session{srv: s, conn: c, tls: s.opts.ImplicitTLS}
			sess.run()
			s.mu.Lock()
			delete(s.conns, sess.conn)
			delete(s.conns, c)
			s.mu.Unlock()
			sess.conn.Close()
		}()
	}
}

// fault returns the faults to apply to one command, counting a firing when
// use reports that a fault was applied.
func (s *Server) fault(use func(Faults) bool) Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	if f.Times > 0 && s.fired >= f.Times {
		return Faults{}
	}
	if use(f) {
		s.fired++
		return f
	}
	return Faults{}
}

// lock takes the maildrop lock and returns the session's view of the
// maildrop, or false when another session holds it (and SharedMaildrop is
// not set).
func (s *Server) lock() ([]stored, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holders > 0 && !s.opts.SharedMaildrop {
		return nil, false
	}
	s.holders++
	return append([]stored(nil), s.drop...), true
}

// unlock releases the maildrop, first removing the messages whose UIDs are
// in deleted (the UPDATE state of a clean QUIT).
func (s *Server) unlock(deleted map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(deleted) > 0 {
		kept := s.drop[:0]
		for _, m := range s.drop {
			if !deleted[m.uid] {
				kept = append(kept, m)
			}
		}
		s.drop = kept
	}
	s.holders--
}

// networkForm turns bare LF into CRLF and makes sure the message ends with
// CRLF, as a server does before it sends a message.
func networkForm(b []byte) []byte {
	out := formats.ToCRLF(b)
	if n := len(out); n > 0 && (n < 2 || out[n-2] != '\r' || out[n-1] != '\n') {
		out = append(out[:n:n], '\r', '\n')
	}
	return out
}

// writeStuffed writes a network-form message as a multi-line response body:
// every line that starts with "." gets another "." in front, and the
// terminating ".\r\n" follows.
func writeStuffed(w *bufio.Writer, body []byte) error {
	atLineStart := true
	for i := 0; i < len(body); {
		if atLineStart && body[i] == '.' {
			if err := w.WriteByte('.'); err != nil {
				return err
			}
		}
		j := i
		for j < len(body) && body[j] != '\n' {
			j++
		}
		if j < len(body) {
			j++
		}
		if _, err := w.Write(body[i:j]); err != nil {
			return err
		}
		atLineStart = body[j-1] == '\n'
		i = j
	}
	if !atLineStart {
		if _, err := w.WriteString("\r\n"); err != nil {
			return err
		}
	}
	_, err := w.WriteString(".\r\n")
	return err
}
