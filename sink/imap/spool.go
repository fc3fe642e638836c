package imap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// memoryLimit is the largest body spooled in memory; larger ones go to a
// temporary file.
const memoryLimit = 8 << 20

// spool holds one message in network form (CRLF), re-readable.
type spool struct {
	mem  []byte
	file *os.File
	size int64
}

// errSpoolRead marks a failure to read our own copy of the message.
var errSpoolRead = errors.New("reading the spooled message")

// spoolBody reads r (m.Size bytes in the form m.CRLF says) and keeps it in
// network form. A body that is not m.Size bytes long is refused.
func spoolBody(m transfer.Message, r io.Reader) (*spool, error) {
	sp := &spool{}
	var buf bytes.Buffer
	sink := &spillWriter{sp: sp, buf: &buf}
	var n int64
	var err error
	if m.CRLF {
		n, err = io.Copy(sink, r)
	} else {
		cw := formats.NewCRLFWriter(sink)
		n, err = io.Copy(cw, r)
	}
	if err != nil {
		sp.Close()
		return nil, fmt.Errorf("folder %q, message %s: reading the message: %w", m.Folder, m.ID, err)
	}
	if m.Size >= 0 && n != m.Size {
		sp.Close()
		return nil, transfer.PerMessageError(&transfer.MessageError{Folder: m.Folder, ID: m.ID,
			Err: fmt.Errorf("the message has %d bytes, not the %d announced", n, m.Size)})
	}
	if sp.file == nil {
		sp.mem = buf.Bytes()
		sp.size = int64(len(sp.mem))
	}
	return sp, nil
}

// spillWriter collects into memory and moves to a temporary file past
// memoryLimit.
type spillWriter struct {
	sp  *spool
	buf *bytes.Buffer
}

func (s *spillWriter) Write(p []byte) (int, error) {
	if s.sp.file == nil && int64(s.buf.Len()+len(p)) <= memoryLimit {
		return s.buf.Write(p)
	}
	if s.sp.file == nil {
		f, err := os.CreateTemp("", "mailferry-append-*")
		if err != nil {
			return 0, transfer.FatalError(fmt.Errorf("spooling a message: %w", err))
		}
		os.Remove(f.Name())
		s.sp.file = f
		if _, err := f.Write(s.buf.Bytes()); err != nil {
			return 0, transfer.FatalError(fmt.Errorf("spooling a message: %w", err))
		}
		s.sp.size = int64(s.buf.Len())
		s.buf.Reset()
	}
	n, err := s.sp.file.Write(p)
	s.sp.size += int64(n)
	if err != nil {
		return n, transfer.FatalError(fmt.Errorf("spooling a message: %w", err))
	}
	return n, nil
}

// reader returns the spooled bytes from the start.
func (sp *spool) reader() io.Reader {
	if sp.file != nil {
		return io.NewSectionReader(sp.file, 0, sp.size)
	}
	return bytes.NewReader(sp.mem)
}

// copyTo writes the spool to w. A failure to read the spool wraps
// errSpoolRead; a failure to write is returned as it is.
func (sp *spool) copyTo(w io.Writer) (int64, error) {
	r := sp.reader()
	buf := make([]byte, 32*1024)
	var total int64
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
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

// Close removes the temporary file, if any.
func (sp *spool) Close() {
	if sp.file != nil {
		sp.file.Close()
	}
}
