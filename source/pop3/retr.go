package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mailferry/mailferry/transfer"
)

// RETR is done here, on the connection go-pop3 was given, not with
// go-pop3's RetrRaw, for two reasons:
//   - RetrRaw collects a message line by line into a bytes.Buffer before
//     returning it, so a 20 MB message costs about 90 MB of allocations
//     and its whole size in memory. Here each message is a reader that
//     unstuffs lines as the spool reads them, through one fixed buffer
//     (BenchmarkRetrRaw and BenchmarkDotReader give the two figures).
//   - RetrRaw waits for each answer before the next RETR is sent, one round
//     trip per message. When the server offers PIPELINING (RFC 2449), up to
//     retrWindow RETRs are sent ahead of the answer being read.
//
// Sharing the connection with go-pop3 is sound because a POP3 server sends
// nothing it was not asked for: between two commands neither go-pop3's
// reader nor ours holds a byte (checked after every pipeline), and every
// go-pop3 command is written and flushed whole before it waits.

// retrWindow is how many RETRs may wait for their answer at once with
// PIPELINING: enough to hide the round trip behind small messages, few
// enough that a dropped connection asks for little again (what was not
// answered is simply fetched again by the next session).
const retrWindow = 32

// retrBuffer is the size of the buffer a RETR is read through; lines
// longer than it are passed on in pieces.
const retrBuffer = 64 << 10

// maxDateHeader bounds how much of a message is held to find its date
// before the rest is streamed.
const maxDateHeader = 256 << 10

// retrieval is one message a pipeline fetches.
type retrieval struct {
	num int
	msg transfer.Message
}

// retrPipeline sends RETR for each of todo, up to window ahead, and calls
// deliver with each message's header block (up to maxDateHeader) and a
// reader of the whole message, dot-unstuffed with CRLF line ends. deliver
// must read the reader to its end or return an error. A -ERR answer is
// passed to refused, and the pipeline goes on. It returns the first error
// of the connection or of deliver; the session cannot be used after such
// an error (answers may still be on their way).
func (sess *session) retrPipeline(todo []retrieval, window int, deliver func(retrieval, []byte, io.Reader) error, refused func(retrieval, error)) error {
	if sess.br == nil {
		sess.br = bufio.NewReaderSize(sess.conn, retrBuffer)
	}
	var cmds []byte
	sent := 0
	for i, t := range todo {
		// Keep up to window commands ahead of the answer read next.
		cmds = cmds[:0]
		for ; sent < len(todo) && sent < i+window; sent++ {
			cmds = append(cmds, "RETR "...)
			cmds = strconv.AppendInt(cmds, int64(todo[sent].num), 10)
			cmds = append(cmds, "\r\n"...)
		}
		if len(cmds) > 0 {
			if _, err := sess.conn.Write(cmds); err != nil {
				return sess.retrError(err)
			}
		}
		status, err := sess.statusLine()
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(status, "-ERR"):
			se := classify(parseServerError(sess.server, "RETR", strings.TrimPrefix(status, "-ERR")))
			if transfer.ClassOf(se) != transfer.PerMessage {
				return &refusal{t: t, err: se}
			}
			refused(t, se)
			continue
		case !strings.HasPrefix(status, "+OK"):
			return transfer.TemporaryError(fmt.Errorf("pop3 server %s: RETR: unexpected reply %q", sess.server, truncate(status)))
		}
		body := &dotReader{br: sess.br, lineStart: true, fail: sess.retrError}
		head, err := readHeader(body)
		if err != nil {
			return err
		}
		if err := deliver(t, head, io.MultiReader(bytes.NewReader(head), body)); err != nil {
			return err
		}
		if !body.done {
			return transfer.FatalError(errors.New("pop3: a message was not read to its end"))
		}
	}
	if n := sess.br.Buffered(); n > 0 {
		return transfer.TemporaryError(fmt.Errorf("pop3 server %s: RETR: %d bytes more than was asked for", sess.server, n))
	}
	return nil
}

// refusal is a -ERR answer to a RETR that is not about the message alone
// ([SYS/TEMP], [SYS/PERM], …): it ends the pipeline.
type refusal struct {
	t   retrieval
	err error // classified *ServerError
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// statusLine reads the +OK/-ERR line that opens an answer.
func (sess *session) statusLine() (string, error) {
	line, err := sess.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", transfer.TemporaryError(fmt.Errorf("pop3 server %s: RETR: a status line longer than %d bytes", sess.server, retrBuffer))
	}
	if err != nil {
		return "", sess.retrError(err)
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// retrError classifies a failure to read or write the connection: always
// temporary, since the next session fetches what was not delivered.
func (sess *session) retrError(err error) error {
	if ioErr := sess.dc.ioErr(); ioErr != nil {
		err = ioErr
	} else if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return connError(sess.server, "RETR", err)
}

// readHeader reads from r up to the blank line that ends the header, or
// maxDateHeader bytes, or the end of the message, whichever comes first.
func readHeader(r *dotReader) ([]byte, error) {
	var head []byte
	buf := make([]byte, 0, 4096)
	for len(head) < maxDateHeader {
		n, err := r.Read(buf[:cap(buf)])
		head = append(head, buf[:n]...)
		if err == io.EOF {
			return head, nil
		}
		if err != nil {
			return nil, err
		}
		// The end may straddle two reads.
		from := max(len(head)-n-3, 0)
		if bytes.Contains(head[from:], []byte("\r\n\r\n")) || bytes.HasPrefix(head, []byte("\r\n")) {
			return head, nil
		}
	}
	return head, nil
}

// dotReader reads one multi-line POP3 answer up to the line "." and
// gives its lines unstuffed ("..x" becomes ".x") with CRLF line ends (a
// bare LF becomes CRLF), exactly as go-pop3's RetrRaw does (a fuzz test
// compares the two), without holding more than one buffer of it.
type dotReader struct {
	br        *bufio.Reader
	fail      func(error) error // classifies a read error
	pending   []byte            // the rest of the current piece, in br's buffer
	crlf      bool              // "\r\n" is due after pending
	lineStart bool              // the next piece starts a line
	lastCR    bool              // the last piece ended in "\r" (a line split after it)
	done      bool              // the "." line was read
	err       error
}

func (d *dotReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(d.pending) > 0 {
			k := copy(p[n:], d.pending)
			d.pending = d.pending[k:]
			n += k
			continue
		}
		if d.crlf {
			if len(p)-n < 2 {
				break
			}
			n += copy(p[n:], "\r\n")
			d.crlf = false
			continue
		}
		if d.done || d.err != nil || (n > 0 && d.br.Buffered() == 0) {
			// Return what there is rather than wait for more.
			break
		}
		d.next()
	}
	switch {
	case n > 0:
		return n, nil
	case d.err != nil:
		return 0, d.err
	case d.done:
		return 0, io.EOF
	}
	return 0, nil
}

// next reads the next piece of a line into pending.
func (d *dotReader) next() {
	piece, err := d.br.ReadSlice('\n')
	whole := err == nil
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the "." line never came
		}
		d.err = d.fail(err)
		return
	}
	if d.lineStart && whole && (string(piece) == ".\r\n" || string(piece) == ".\n") {
		d.done = true
		return
	}
	wasStart := d.lineStart
	if wasStart && piece[0] == '.' {
		piece = piece[1:]
	}
	if !whole {
		d.pending = piece
		d.lineStart = false
		d.lastCR = len(piece) > 0 && piece[len(piece)-1] == '\r'
		return
	}
	// A whole line, or the end of one: its "\n" ends it, with the "\r"
	// before it (in this piece or the last) or with one added.
	switch {
	case len(piece) >= 2 && piece[len(piece)-2] == '\r', len(piece) == 1 && !wasStart && d.lastCR:
		d.pending = piece
	default:
		d.pending = piece[:len(piece)-1]
		d.crlf = true
	}
	d.lineStart = true
	d.lastCR = false
}
