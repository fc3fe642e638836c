package imapconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// AppendPipe sends APPEND commands on one connection one after the other
// without waiting for each answer, and matches the tagged answers to them.
//
// It is written here, on the connection's raw stream, because go-imap
// (v2.0.0-beta.8) cannot: its Append sends every literal over 4096 bytes as
// a synchronizing literal even when the server offers LITERAL+, so each
// APPEND waits one round trip for the server's "+" before its first byte,
// and the encoder stays locked meanwhile. Here a literal is
// non-synchronizing ("{n+}") whenever RFC 7888 allows it: any size with
// LITERAL+, up to 4096 bytes with LITERAL-; otherwise the pipe waits for the
// "+" of that one command, while the answers to the ones before it go on
// arriving. Every APPEND has its own tag, so which message of a pipeline a
// NO or a broken connection hit is exact, and the APPENDUID of each tagged
// OK says what the server kept.
//
// Send may be called from several goroutines; commands are written one at
// a time, in order. The pipe ends with Close once every sent APPEND was
// answered, and then the connection is go-imap's again; a pipe whose
// connection broke answers every APPEND still waiting with the error, and
// its connection is marked broken.
type AppendPipe struct {
	c     *Conn
	s     *RawStream
	plus  bool // LITERAL+
	minus bool // LITERAL-

	wmu sync.Mutex // held while one command is written
	bw  *bufio.Writer
	// cont receives the server's continuation request for a synchronizing
	// literal; only the command being written can be waiting for one.
	cont chan struct{}

	mu      sync.Mutex
	next    int
	waiting map[string]*PendingAppend // sent, not answered, by tag
	err     error                     // set once the connection broke
	closed  bool
}

// PendingAppend is one APPEND command sent on an AppendPipe, with one
// message or (MULTIAPPEND) several.
type PendingAppend struct {
	tag  string
	done chan struct{}
	res  AppendResult
	err  error
}

// AppendResult is the tagged OK of an APPEND command.
type AppendResult struct {
	UIDValidity uint32
	// UIDs are the UIDs the messages of the command got, in the order they
	// were sent (APPENDUID, RFC 4315); nil when the server did not say, or
	// named another number of messages than the command carried.
	UIDs []imap.UID
}

// UID is the UID of the one message of an APPEND command, 0 when the
// server did not say.
func (r *AppendResult) UID() imap.UID {
	if len(r.UIDs) != 1 {
		return 0
	}
	return r.UIDs[0]
}

// AppendRequest is one message to APPEND.
type AppendRequest struct {
	Mailbox string // the server's name, UTF-8
	Flags   []imap.Flag
	Date    time.Time // INTERNALDATE; zero for none
	Size    int64     // the literal's exact size
	// Body is AppendMessage's.
	Body func(w io.Writer) (int64, error)
}

// AppendMessage is one message of an APPEND command.
type AppendMessage struct {
	Flags []imap.Flag
	Date  time.Time // INTERNALDATE; zero for none
	Size  int64     // the literal's exact size
	// Body writes exactly Size bytes to w. An error it returns that is not
	// w's own breaks the pipe: the server waits for the rest of a literal.
	Body func(w io.Writer) (int64, error)
}

// ErrNotSent is wrapped in the error of an APPEND Send did not start to
// write, because the pipe's connection had broken already: nothing of it
// reached the server.
var ErrNotSent = errors.New("APPEND not sent")

// StartAppendPipe lends c's stream to a new AppendPipe. c must be idle
// (between commands) and stays reserved for the pipe until Close.
func (c *Conn) StartAppendPipe() (*AppendPipe, error) {
	if c.div == nil {
		return nil, errors.New("this connection cannot be lent")
	}
	s, err := c.div.lend()
	if err != nil {
		return nil, err
	}
	p := &AppendPipe{
		c:       c,
		s:       s,
		plus:    c.Info.Caps.Has(imap.CapLiteralPlus),
		minus:   c.Info.Caps.Has(imap.CapLiteralMinus),
		bw:      c.appendWriter(&armedStream{s: s, c: c}),
		cont:    make(chan struct{}, 1),
		waiting: make(map[string]*PendingAppend),
	}
	c.Unselected() // a Dovecot APPEND into the selected folder sends EXISTS, which go-imap never sees
	go p.read()
	return p, nil
}

// appendWriter returns the connection's APPEND buffer writing to w. One
// buffer serves every pipe of the connection in turn (one at a time, see
// StartAppendPipe): a sink starts a pipe for each burst of APPENDs, and a
// new 64 KiB buffer each time was a twentieth of all a copy allocated.
func (c *Conn) appendWriter(w io.Writer) *bufio.Writer {
	if c.appendBuf == nil {
		c.appendBuf = bufio.NewWriterSize(w, 64<<10)
	} else {
		c.appendBuf.Reset(w)
	}
	return c.appendBuf
}

// armedStream restarts the watchdog for every write, so a large message on
// a slow link is fine while a server that stops reading is not.
type armedStream struct {
	s *RawStream
	c *Conn
}

func (a *armedStream) Write(p []byte) (int, error) {
	a.c.Arm()
	return a.s.Write(p)
}

// nonSync reports whether a literal of size may be sent without waiting for
// the server's continuation request (RFC 7888).
func (p *AppendPipe) nonSync(size int64) bool {
	return p.plus || p.minus && size <= 4096
}

// Send writes one APPEND and returns at once, without waiting for the
// answer; Wait on the result gets it. An error means the APPEND did not
// reach the server whole: with ErrNotSent, nothing of it did; otherwise
// the pipe is broken and the server may hold part of it (or, for a
// failure to write the last bytes, all of it).
func (p *AppendPipe) Send(req AppendRequest) (*PendingAppend, error) {
	m := &AppendMessage{Flags: req.Flags, Date: req.Date, Size: req.Size, Body: req.Body}
	a, _, err := p.SendMulti(req.Mailbox, func() (*AppendMessage, bool) {
		next := m
		m = nil
		return next, next != nil
	})
	return a, err
}

// SendMulti writes one APPEND command of the messages next hands out, one
// after the other until it reports no more (MULTIAPPEND, RFC 3502, when
// there is more than one; the server stores all of them or none), and
// returns without waiting for the answer. next is called only when the
// message it returns is written next, so messages may still be added
// while the first are on their way; it must return at least one. sent is
// how many messages next handed out, all part of the command even when
// the server answered before the last were written. The errors are
// Send's.
func (p *AppendPipe) SendMulti(mailbox string, next func() (*AppendMessage, bool)) (a *PendingAppend, sent int, err error) {
	cmd, err := appendCommand(mailbox)
	if err != nil {
		return nil, 0, err
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	if p.err != nil || p.closed {
		err := p.err
		p.mu.Unlock()
		if err == nil {
			err = errors.New("append pipe closed")
		}
		return nil, 0, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	p.next++
	a = &PendingAppend{tag: "P" + strconv.Itoa(p.next), done: make(chan struct{})}
	if len(p.waiting) == 0 {
		p.c.Arm()
	}
	p.waiting[a.tag] = a
	p.mu.Unlock()

	p.bw.WriteString(a.tag + " " + cmd)
	for {
		m, ok := next()
		if !ok {
			break
		}
		sent++
		answered, err := p.writeMessage(a, m)
		if err != nil {
			return nil, sent, p.broke(err)
		}
		if answered {
			// Refused (or the connection broke) before a literal
			// the server had to ask for: the command is over, and
			// nothing of it was stored.
			return a, sent, nil
		}
	}
	if sent == 0 {
		return nil, 0, p.broke(errors.New("an APPEND command without a message"))
	}
	_, err = p.bw.WriteString("\r\n")
	if err == nil {
		err = p.bw.Flush()
	}
	if err != nil {
		return nil, sent, p.broke(err)
	}
	return a, sent, nil
}

// writeMessage writes one message of a's command: flags, date and the
// literal. answered reports that the server answered a before it asked for
// a synchronizing literal, so the rest was not written.
func (p *AppendPipe) writeMessage(a *PendingAppend, m *AppendMessage) (answered bool, err error) {
	p.bw.WriteString(messageArgs(m.Flags, m.Date))
	sync := !p.nonSync(m.Size)
	if sync {
		p.bw.WriteString("{" + strconv.FormatInt(m.Size, 10) + "}\r\n")
		if err := p.bw.Flush(); err != nil {
			return false, err
		}
		select {
		case <-p.cont:
		case <-a.done:
			return true, nil
		}
	} else {
		p.bw.WriteString("{" + strconv.FormatInt(m.Size, 10) + "+}\r\n")
	}
	n, err := m.Body(p.bw)
	if err == nil && n != m.Size {
		err = fmt.Errorf("%d bytes written for a literal of %d", n, m.Size)
	}
	return false, err
}

// appendCommand is "APPEND mailbox", before the first message.
func appendCommand(mailbox string) (string, error) {
	name, err := formats.EncodeMUTF7(mailbox)
	if err != nil || strings.ContainsAny(name, "\r\n\x00") {
		return "", fmt.Errorf("folder name %q cannot be sent in an APPEND", mailbox)
	}
	return "APPEND " + quote(name), nil
}

// messageArgs is " (flags) date-time " before a message's literal.
func messageArgs(flags []imap.Flag, date time.Time) string {
	var b strings.Builder
	b.WriteString(" ")
	if len(flags) > 0 {
		b.WriteString("(")
		for i, f := range flags {
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString(string(f))
		}
		b.WriteString(") ")
	}
	if !date.IsZero() {
		b.WriteString(`"` + date.Format("_2-Jan-2006 15:04:05 -0700") + `" `)
	}
	return b.String()
}

// quote is an IMAP quoted string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// broke marks the pipe broken by err, a failure to write: the connection is
// closed, so the reader ends and answers every waiting APPEND.
func (p *AppendPipe) broke(err error) error {
	err = p.lost(err)
	p.c.MarkBroken()
	p.fail(err)
	return err
}

// lost classifies a broken connection: the watchdog's timeout, or a
// connection lost; both Temporary.
func (p *AppendPipe) lost(err error) error {
	server := p.c.opts.Server()
	if p.c.wd.Fired() {
		return transfer.TemporaryError(fmt.Errorf("imap %s: APPEND: %w within %v; connection closed", server, ErrTimeout, p.c.opts.timeout()))
	}
	return transfer.TemporaryError(fmt.Errorf("imap %s: APPEND: connection lost: %w", server, err))
}

// fail answers every waiting APPEND with err, once.
func (p *AppendPipe) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		p.err = err
	}
	for tag, a := range p.waiting {
		a.err = p.err
		close(a.done)
		delete(p.waiting, tag)
	}
	p.c.Disarm()
}

// read matches the server's answers to the APPENDs sent, until the stream
// is given back or breaks.
func (p *AppendPipe) read() {
	for {
		r, err := p.s.ReadResponse()
		if errors.Is(err, ErrRawClosed) {
			return
		}
		if err != nil {
			p.c.MarkBroken()
			p.fail(p.lost(err))
			return
		}
		switch r.Tag {
		case "+":
			p.rearm()
			select {
			case p.cont <- struct{}{}:
			default:
			}
			continue
		case "*":
			if r.Status == "BYE" {
				p.c.MarkBroken()
				p.fail(transfer.TemporaryError(fmt.Errorf("imap %s: APPEND: the server closed the connection: %w", p.c.opts.Server(), r.Err())))
				return
			}
			p.rearm()
			continue
		}
		p.mu.Lock()
		a := p.waiting[r.Tag]
		delete(p.waiting, r.Tag)
		p.mu.Unlock()
		p.rearm()
		if a == nil {
			p.c.MarkBroken()
			p.fail(p.lost(fmt.Errorf("answer %q to a command never sent", truncate([]byte(r.Tag+" "+r.Status)))))
			return
		}
		a.err = r.Err()
		if v, uids, ok := r.AppendUIDs(); ok {
			a.res = AppendResult{UIDValidity: v, UIDs: uids}
		}
		close(a.done)
	}
}

// rearm restarts the watchdog while answers are awaited, and stops it when
// none is: the server showed it is alive.
func (p *AppendPipe) rearm() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.waiting) > 0 {
		p.c.Arm()
	} else {
		p.c.Disarm()
	}
}

// Wait returns the server's answer: the messages' UIDs when the server
// has UIDPLUS, a tagged NO or BAD as an *imap.Error, or the error that
// broke the connection (Temporary). When ctx ends first the connection is
// closed, so the answer is the broken connection's.
func (a *PendingAppend) Wait(ctx context.Context, p *AppendPipe) (*AppendResult, error) {
	select {
	case <-a.done:
	case <-ctx.Done():
		p.c.MarkBroken()
		<-a.done
	}
	if a.err != nil {
		return nil, a.err
	}
	return &a.res, nil
}

// InFlight is how many APPENDs wait for their answer.
func (p *AppendPipe) InFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiting)
}

// Broken reports whether the pipe's connection broke.
func (p *AppendPipe) Broken() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err != nil
}

// Close gives the connection back to go-imap. Every APPEND sent must have
// been answered (InFlight is 0); one still waiting makes Close break the
// connection instead, as its answer would reach go-imap.
func (p *AppendPipe) Close() {
	p.mu.Lock()
	p.closed = true
	waiting := len(p.waiting)
	p.mu.Unlock()
	if waiting > 0 {
		p.c.MarkBroken()
	}
	p.s.Close()
}
