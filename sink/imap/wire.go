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
// errSpoolRead; a failure to write is returned as it is.
func (w *wire) copyTo(dst io.Writer) (int64, error) {
	r := w.reader()
	buf := make([]byte, 32*1024)
	var total int64
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			m, werr := dst.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, fmt.Errorf("%w: %v", errSpoolRead, rerr)
		}
	}
}
