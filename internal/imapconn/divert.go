package imapconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
)

// divertConn is the byte stream go-imap reads and writes, with a way to
// lend it out: while a RawStream holds it, what the server sends goes to
// the RawStream and go-imap's reader waits, so commands go-imap cannot send
// well (a pipeline of APPENDs with non-synchronizing literals, see
// AppendPipe) can be written on a logged-in connection and their responses
// read, and afterwards go-imap carries on as if nothing had happened.
//
// The stream is lent only between commands, when go-imap expects nothing:
// IMAP servers send nothing between a tagged response and the next
// command, so no byte meant for go-imap can be taken by the RawStream or
// the other way round. Whoever wants bytes first reads the socket (go-imap's
// reader is usually already blocked in Read when the stream is lent); what
// it reads lands in pending, and only the stream's current owner consumes
// it.
type divertConn struct {
	net.Conn

	mu      sync.Mutex
	cond    *sync.Cond
	lent    bool         // a RawStream owns the stream
	reading bool         // a goroutine is in Conn.Read
	pending bytes.Buffer // read from the socket, not yet consumed
	err     error        // the socket's read error, once it failed
	scratch []byte
	// debug receives what a RawStream sends and reads (go-imap logs its
	// own), so --debug shows the whole conversation.
	debug io.Writer
}

// divertLimit bounds what is read ahead for the owner that is not
// reading: go-imap's reader keeps reading the socket for a RawStream, and
// must not buffer a whole pipeline's responses if the RawStream is slow.
const divertLimit = 256 << 10

func newDivertConn(c net.Conn, debug io.Writer) *divertConn {
	d := &divertConn{Conn: c, scratch: make([]byte, 32<<10), debug: debug}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// fill reads from the socket once into pending, unless another goroutine is
// reading already; then it waits for that read to end. Called with mu held.
func (d *divertConn) fill() {
	if d.reading {
		d.cond.Wait()
		return
	}
	d.reading = true
	d.mu.Unlock()
	n, err := d.Conn.Read(d.scratch)
	d.mu.Lock()
	d.reading = false
	d.pending.Write(d.scratch[:n])
	if err != nil && d.err == nil {
		d.err = err
	}
	d.cond.Broadcast()
}

// Read is go-imap's reader. While the stream is lent it keeps reading the
// socket for the RawStream (up to divertLimit ahead) and returns nothing.
func (d *divertConn) Read(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		if !d.lent {
			if d.pending.Len() > 0 {
				return d.pending.Read(p)
			}
			if d.err != nil {
				return 0, d.err
			}
		} else if d.err != nil || d.pending.Len() >= divertLimit {
			d.cond.Wait()
			continue
		}
		d.fill()
	}
}

// errLent is returned when the stream is lent twice.
var errLent = errors.New("imap connection already lent to a raw stream")

// lend hands the stream to a RawStream.
func (d *divertConn) lend() (*RawStream, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lent {
		return nil, errLent
	}
	d.lent = true
	return &RawStream{d: d}, nil
}

// RawStream is a logged-in connection's byte stream, lent by Conn.Raw while
// go-imap waits. Write sends bytes as they are; ReadLine and ReadFull read
// what the server answers. Close gives the stream back to go-imap, which
// must then find it between responses: the holder reads every response to
// what it sent before it closes. One goroutine may write while another
// reads.
type RawStream struct {
	d      *divertConn
	closed bool // guarded by d.mu
}

// ErrRawClosed is returned by a RawStream's reads after Close.
var ErrRawClosed = errors.New("raw imap stream given back")

// Write sends p to the server.
func (s *RawStream) Write(p []byte) (int, error) {
	if s.d.debug != nil {
		s.d.debug.Write(p)
	}
	return s.d.Conn.Write(p)
}

// maxLine bounds one response line: a server that sends no line end is
// broken, and must not fill the memory.
const maxLine = 1 << 20

// errLineTooLong is a response line longer than maxLine.
var errLineTooLong = errors.New("imap response line longer than 1 MiB")

// ReadLine returns the next line without its CRLF (or LF).
func (s *RawStream) ReadLine() ([]byte, error) {
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		if s.closed {
			return nil, ErrRawClosed
		}
		if i := bytes.IndexByte(d.pending.Bytes(), '\n'); i >= 0 {
			line := make([]byte, i+1)
			d.pending.Read(line)
			if d.debug != nil {
				d.debug.Write(line)
			}
			return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")), nil
		}
		if d.pending.Len() > maxLine {
			return nil, errLineTooLong
		}
		if d.err != nil {
			return nil, d.err
		}
		d.fill()
	}
}

// Discard reads and drops n bytes (a literal nobody needs).
func (s *RawStream) Discard(n int64) error {
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	for n > 0 {
		if s.closed {
			return ErrRawClosed
		}
		if d.pending.Len() > 0 {
			k := min(int64(d.pending.Len()), n)
			skipped := d.pending.Next(int(k))
			if d.debug != nil {
				d.debug.Write(skipped)
			}
			n -= k
			continue
		}
		if d.err != nil {
			return d.err
		}
		d.fill()
	}
	return nil
}

// Close gives the stream back to go-imap. Bytes already read past the
// last line the holder consumed stay for go-imap.
func (s *RawStream) Close() {
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	d.lent = false
	d.cond.Broadcast()
}
