package imapconn

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/readbuf"
	"github.com/mailferry/mailferry/transfer"
)

// Conn is one logged-in connection. It is used by one goroutine at a time
// (the pool hands it out exclusively). Every call that waits for the server
// runs between Begin and its end function, or inside Do, so the watchdog
// and the caller's context can end it.
type Conn struct {
	// C is the go-imap client. Use it only inside Do or Begin/end.
	C *imapclient.Client
	// Info describes the server (capabilities, delimiter, namespace).
	Info *ServerInfo
	// TLS is the state of the TLS connection; nil for plaintext.
	TLS *tls.ConnectionState

	opts *Options
	wd   *watchdog
	// first is set for the first connection to the account, whose errors
	// that cannot heal are Fatal (see account.CannotHeal).
	first bool
	// raw is the TCP connection under go-imap (and under TLS). Closing it
	// is how a connection is abandoned; see abort.
	raw net.Conn
	// div is the stream go-imap reads and writes (above TLS), which an
	// AppendPipe borrows.
	div *divertConn
	// appendBuf is the write buffer of the connection's AppendPipes.
	appendBuf *bufio.Writer
	// preAuth are the capabilities before login, which list the SASL
	// mechanisms (servers drop AUTH= after login).
	preAuth imap.CapSet

	mu     sync.Mutex
	broken bool
	ctx    context.Context

	// Selected mailbox (server name), whether it was opened read-only, and
	// what SELECT/EXAMINE said.
	selected string
	readOnly bool
	selData  *imap.SelectData

	misrouted atomic.Int64
	expunged  atomic.Int64
	// literalCut is set when the literal being read ended before its size.
	literalCut atomic.Bool
}

// Dial connects, secures, logs in and learns the server's capabilities.
// info is what an earlier connection learned (nil for the first, which
// then asks NAMESPACE and the hierarchy delimiter).
func Dial(ctx context.Context, opts *Options, info *ServerInfo) (*Conn, error) {
	c := &Conn{opts: opts, first: info == nil}
	c.wd = newWatchdog(opts.timeout(), func() {
		c.markBroken()
		c.abort()
	})
	token, err := c.oauth2Token(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.connect(ctx); err != nil {
		return nil, err
	}
	if err := c.login(ctx, token); err != nil {
		c.C.Close()
		return nil, err
	}
	if _, err := c.capabilities(ctx); err != nil {
		c.C.Close()
		return nil, err
	}
	if info == nil {
		var err error
		info, err = c.learnServer(ctx)
		if err != nil {
			c.C.Close()
			return nil, err
		}
	} else {
		info = info.withCaps(c.C.Caps())
	}
	c.Info = info
	return c, nil
}

// capabilities returns what the server says it can do now: what the last
// response that listed it said (the greeting's or the login's OK
// [CAPABILITY …], which most servers send, so that no round trip is spent
// on asking), else the answer to a CAPABILITY command.
func (c *Conn) capabilities(ctx context.Context) (imap.CapSet, error) {
	var caps imap.CapSet
	err := c.Do(ctx, "CAPABILITY", func() error {
		if caps = c.C.Caps(); caps != nil {
			return nil
		}
		// Caps does not say why it has none: ask, for the error.
		var err error
		caps, err = c.C.Capability().Wait()
		return err
	})
	return caps, err
}

// connect dials and sets up TLS as the options say, and waits for the
// greeting.
func (c *Conn) connect(ctx context.Context) error {
	opts := c.opts
	timeout := opts.timeout()
	dialer := &net.Dialer{Timeout: timeout}
	raw, err := dialer.DialContext(ctx, "tcp", opts.Addr)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
			err = fmt.Errorf("%w within %v (%w)", ErrTimeout, timeout, err)
		}
		return c.connError(fmt.Errorf("imap %s: connecting: %w", opts.Server(), err))
	}
	c.raw = raw
	cfg := &tls.Config{}
	if opts.TLSConfig != nil {
		cfg = opts.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = hostOf(opts.Addr)
	}
	prevVerify := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		c.TLS = &cs
		if prevVerify != nil {
			return prevVerify(cs)
		}
		return nil
	}
	copts := &imapclient.Options{
		TLSConfig:   cfg,
		DebugWriter: opts.Debug,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Fetch:   c.unilateralFetch,
			Expunge: func(uint32) { c.expunged.Add(1) },
		},
	}

	// Until the client exists the watchdog cannot close it, so the
	// handshake is bounded by closing the socket.
	guard := time.AfterFunc(timeout, func() { raw.Close() })
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	switch opts.Security {
	case account.SecurityTLS:
		if cfg.NextProtos == nil {
			cfg.NextProtos = []string{"imap"}
		}
		tc := tls.Client(readbuf.New(raw), cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			inTime := guard.Stop()
			raw.Close()
			if !inTime && ctx.Err() == nil {
				return transfer.TemporaryError(fmt.Errorf("imap %s: TLS handshake: %w within %v", opts.Server(), ErrTimeout, timeout))
			}
			return c.tlsError(err)
		}
		c.div = newDivertConn(tc, opts.Debug)
		c.C = imapclient.New(c.div, copts)
	case account.SecurityStartTLS:
		tc, err := startTLS(ctx, raw, cfg, opts.Debug)
		if err != nil {
			inTime := guard.Stop()
			raw.Close()
			if isCertError(err) {
				return c.tlsError(err)
			}
			if !inTime && ctx.Err() == nil {
				return transfer.TemporaryError(fmt.Errorf("imap %s: greeting and STARTTLS: %w within %v", opts.Server(), ErrTimeout, timeout))
			}
			return transfer.FatalError(fmt.Errorf("imap %s: STARTTLS failed: %w; the server may not offer STARTTLS: use imaps:// for implicit TLS, or ?tls=none to allow plaintext", opts.Server(), err))
		}
		// go-imap reads a greeting first; the real one came before
		// STARTTLS, and what it said is not trusted after it.
		c.div = newDivertConn(tc, opts.Debug)
		c.div.pending.WriteString("* OK TLS established\r\n")
		c.C = imapclient.New(c.div, copts)
	default:
		c.div = newDivertConn(raw, opts.Debug)
		c.C = imapclient.New(c.div, copts)
	}
	guard.Stop()
	err = c.Do(ctx, "greeting", c.C.WaitGreeting)
	if err != nil {
		c.C.Close()
		return err
	}
	return nil
}

// connError classifies a failure to connect: Temporary, unless it cannot
// heal (account.CannotHeal) and this is the first connection, which then
// fails at once with advice instead of being retried.
func (c *Conn) connError(err error) error {
	hint := account.CannotHeal("imap", c.opts.Security, c.opts.Credentials.User, c.opts.Addr, err)
	switch {
	case hint == "":
		return transfer.TemporaryError(err)
	case c.first:
		return transfer.FatalError(fmt.Errorf("%w; %s", err, hint))
	}
	return transfer.TemporaryError(fmt.Errorf("%w; %s", err, hint))
}

func isCertError(err error) bool {
	var cve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// tlsError explains a failed TLS handshake; a certificate that is not
// trusted gets advice on how to trust it.
func (c *Conn) tlsError(err error) error {
	server := c.opts.Server()
	if !isCertError(err) {
		return c.connError(fmt.Errorf("imap %s: TLS handshake: %w", server, err))
	}
	subject := ""
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) && len(cve.UnverifiedCertificates) > 0 {
		cert := cve.UnverifiedCertificates[0]
		subject = fmt.Sprintf(" (certificate subject %q, issuer %q, expires %s)", cert.Subject.String(), cert.Issuer.String(), cert.NotAfter.Format("2006-01-02"))
	}
	return transfer.FatalError(fmt.Errorf("imap %s: the server's TLS certificate is not trusted: %w%s; "+
		"if it is self-signed or from a private CA, trust it with --ca-file FILE (the CA certificate in PEM form), "+
		"or skip verification with --insecure-skip-verify (anyone on the path could then read your mail and password)",
		server, err, subject))
}

// unilateralFetch receives FETCH responses no command claimed: with
// go-imap this happens when a server sends UID after the body literal.
// The data must be read, or the connection stalls; the message is counted
// so the caller knows to fetch by sequence number.
func (c *Conn) unilateralFetch(msg *imapclient.FetchMessageData) {
	body := false
	for item := msg.Next(); item != nil; item = msg.Next() {
		if b, ok := item.(imapclient.FetchItemDataBodySection); ok && b.Literal != nil {
			body = true
			io.Copy(io.Discard, b.Literal)
		}
	}
	if body {
		c.misrouted.Add(1)
	}
}

// Misrouted is how many FETCH responses with a body went unclaimed.
func (c *Conn) Misrouted() int64 { return c.misrouted.Load() }

// Expunges is how many EXPUNGE responses arrived on this connection.
func (c *Conn) Expunges() int64 { return c.expunged.Load() }

// Begin starts an operation that waits for the server: the watchdog is
// armed and ctx's cancellation closes the connection. The returned
// function ends it. Use Arm and Disarm inside to pause the watchdog while
// the caller, not the server, is slow.
func (c *Conn) Begin(ctx context.Context) (end func()) {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		c.markBroken()
		c.abort()
	})
	c.wd.arm()
	return func() {
		c.wd.disarm()
		stop()
	}
}

// Arm restarts the watchdog: we wait for the server again.
func (c *Conn) Arm() { c.wd.arm() }

// Disarm pauses the watchdog.
func (c *Conn) Disarm() { c.wd.disarm() }

// Do runs fn, which waits for the server, under the watchdog and ctx, and
// returns its error classified and naming the server and what.
func (c *Conn) Do(ctx context.Context, what string, fn func() error) error {
	end := c.Begin(ctx)
	err := fn()
	end()
	return c.classify(what, err)
}

// Err classifies an error of an operation run between Begin and end.
func (c *Conn) Err(what string, err error) error { return c.classify(what, err) }

func (c *Conn) ctxErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		return nil
	}
	return c.ctx.Err()
}

// WatchedReader returns lit, a FETCH literal, with the watchdog armed
// during each Read: the body of a literal that stops arriving ends the
// connection. It also notes whether the literal ended short, which Abandon
// needs to know.
func (c *Conn) WatchedReader(lit imap.LiteralReader) io.Reader {
	c.literalCut.Store(false)
	return &watchedReader{r: lit, c: c, left: lit.Size()}
}

type watchedReader struct {
	r    io.Reader
	c    *Conn
	left int64
}

func (w *watchedReader) Read(p []byte) (int, error) {
	w.c.wd.arm()
	n, err := w.r.Read(p)
	w.c.wd.disarm()
	w.left -= int64(n)
	if err != nil && w.left > 0 {
		w.c.literalCut.Store(true)
	}
	return n, err
}

func (c *Conn) markBroken() {
	c.mu.Lock()
	c.broken = true
	c.mu.Unlock()
}

// abort closes the TCP connection under go-imap, and under TLS, so that
// every read and write on it fails at once; it does not wait for anything.
//
// imapclient.Client.Close is not enough to abandon a connection: it closes
// the socket too, but then waits for go-imap's decoder goroutine to end,
// and that goroutine does not end while a FETCH literal it handed out is
// unread (beta.8 blocks until the literal's reader reaches its end or an
// error). A caller that gave up in the middle of a message body would wait
// for itself forever. With the socket closed, reading the rest of any
// literal ends at once (only what is already buffered is left), so the
// decoder can finish; Abandon does that reading. Closing the raw socket
// rather than the TLS connection also skips the close_notify alert, whose
// write can wait up to 5 s on a server that stopped reading.
func (c *Conn) abort() {
	if c.raw != nil {
		c.raw.Close()
	}
}

// MarkBroken makes the pool close c instead of reusing it: after an
// aborted command the protocol state is unknown. It closes the socket
// under go-imap and returns at once; the client itself is closed when the
// pool gets c back. A caller in the middle of a FETCH uses Abandon.
func (c *Conn) MarkBroken() {
	c.markBroken()
	c.abort()
}

// Abandon gives up cmd, a FETCH whose responses are no longer wanted, and
// the connection with it. The socket is closed first, so draining what is
// left of cmd (which go-imap needs before its decoder can end, see abort)
// reads only what was already buffered and cannot wait for the server.
// A literal that already ended short (the stream broke) is not drained:
// go-imap's decoder has moved past it and ends by itself on the dead
// stream, and reading the literal again would race with it. Then the
// client is closed, waiting at most closeWait for go-imap to finish, so
// Abandon returns within moments whatever state the FETCH was in.
func (c *Conn) Abandon(cmd *imapclient.FetchCommand) {
	c.MarkBroken()
	if !c.literalCut.Load() {
		cmd.Close()
	}
	done := make(chan struct{})
	go func() {
		c.C.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeWait):
	}
}

// closeWait bounds how long Abandon waits for go-imap to close.
const closeWait = 2 * time.Second

// Broken reports whether c must not be reused.
func (c *Conn) Broken() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken {
		return true
	}
	select {
	case <-c.C.Closed():
		return true
	default:
	}
	return c.C.State() == imap.ConnStateLogout
}

// logoutWait bounds the polite LOGOUT in Close, which runs also when a
// run is stopping and must not keep it waiting for a slow server.
const logoutWait = time.Second

// Close logs out (briefly) and closes the connection.
func (c *Conn) Close() error {
	if !c.Broken() {
		done := make(chan struct{})
		go func() {
			c.C.Logout().Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(logoutWait):
		}
	}
	// After LOGOUT (or without it) nothing more is wanted from the server.
	c.abort()
	c.C.Close()
	return nil
}

// Select opens mailbox (a server name) read-only (EXAMINE) or read-write
// (SELECT), unless it is already open that way.
func (c *Conn) Select(ctx context.Context, mailbox string, readOnly bool) (*imap.SelectData, error) {
	if c.selected == mailbox && c.selData != nil && c.readOnly == readOnly {
		return c.selData, nil
	}
	verb := "SELECT"
	if readOnly {
		verb = "EXAMINE"
	}
	var data *imap.SelectData
	c.selected, c.selData = "", nil
	err := c.Do(ctx, fmt.Sprintf("%s %q", verb, mailbox), func() error {
		var err error
		data, err = c.C.Select(mailbox, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
		return err
	})
	if err != nil {
		return nil, err
	}
	c.selected, c.readOnly, c.selData = mailbox, readOnly, data
	return data, nil
}

// Unselected forgets the selected mailbox, for callers that closed it.
func (c *Conn) Unselected() { c.selected, c.selData = "", nil }

func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return strings.Trim(addr, "[]")
	}
	return host
}

// Options are the options c was dialed with.
func (c *Conn) Options() *Options { return c.opts }
