package imap

import (
	"errors"
	"fmt"
	"io"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// wire is a message in the network form (CRLF) APPEND sends, with that
// form's exact size, which the literal announces before its first byte. It
// reads the run's spool: a body from a local store is converted as it is
// read, never spooled again.
type wire struct {
	body transfer.Body
	crlf bool // body is in network form already
	size int64
}

// errSpoolRead marks a failure to read our own copy of the message.
var errSpoolRead = errors.New("reading the spooled message")

// newWire measures the network form of body (m.Size bytes in the form
// m.CRLF says). A body that is not m.Size bytes long is refused.
func newWire(m transfer.Message, body transfer.Body) (*wire, error) {
	if m.Size >= 0 && body.Size() != m.Size {
		return nil, transfer.PerMessageError(&transfer.MessageError{Folder: m.Folder, ID: m.ID,
			Err: fmt.Errorf("the message has %d bytes, not the %d announced", body.Size(), m.Size)})
	}
	w := &wire{body: body, crlf: m.CRLF, size: body.Size()}
	if !m.CRLF {
		var c formats.WireCounter
		if _, err := io.Copy(&c, transfer.BodyReader(body)); err != nil {
			return nil, fmt.Errorf("folder %q, message %s: %w: %v", m.Folder, m.ID, errSpoolRead, err)
		}
		w.size = c.Size()
	}
	return w, nil
}

// reader returns the network form from the start.
func (w *wire) reader() io.Reader {
	r := transfer.BodyReader(w.body)
	if !w.crlf {
		r = formats.NewCRLFReader(r)
	}
	return r
}

// copyTo writes the network form to dst. A failure to read the spool wraps
// errSpoolRead; a failure to write is returned as it is. dst is the
// APPEND pipe's buffered writer, which reads straight into its buffer
// (io.ReaderFrom): a copy buffer per message was a third of what a copy
// into IMAP allocated.
func (w *wire) copyTo(dst io.Writer) (int64, error) {
	return io.Copy(dst, spoolReader{w.reader()})
}

// spoolReader marks read errors as the spool's, so that copyTo's caller
// can tell them from the connection's. It has only Read, so io.Copy
// uses dst's ReadFrom.
type spoolReader struct{ r io.Reader }

func (s spoolReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %v", errSpoolRead, err)
	}
	return n, err
}
