package mbox

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/mailferry/mailferry/formats"
)

// spoolMemory is the message size up to which a body is held in memory.
const spoolMemory = 1 << 20

// spool holds one message body until it is written: the writer needs its
// length before the first byte goes to the file, and a failed read must
// leave nothing in the file.
type spool struct {
	mem  []byte
	file *os.File
	size int64
}

func (s *spool) ReadAt(p []byte, off int64) (int, error) {
	if s.file != nil {
		return s.file.ReadAt(p, off)
	}
	return bytes.NewReader(s.mem).ReadAt(p, off)
}

func (s *spool) Close() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}

// spoolWriter keeps the first spoolMemory bytes in memory and moves to a
// temporary file beyond that.
type spoolWriter struct{ s *spool }

func (w spoolWriter) Write(p []byte) (int, error) {
	s := w.s
	if s.file == nil && int64(len(s.mem))+int64(len(p)) > spoolMemory {
		f, err := os.CreateTemp("", "mailferry-mbox-*")
		if err != nil {
			return 0, fmt.Errorf("spooling a large message: %w", err)
		}
		s.file = f
		if _, err := f.Write(s.mem); err != nil {
			return 0, fmt.Errorf("spooling a large message: %w", err)
		}
		s.mem = nil
	}
	if s.file != nil {
		n, err := s.file.Write(p)
		s.size += int64(n)
		if err != nil {
			return n, fmt.Errorf("spooling a large message: %w", err)
		}
		return n, nil
	}
	s.mem = append(s.mem, p...)
	s.size += int64(len(p))
	return len(p), nil
}

// readSpool reads r into a spool, converting CRLF to LF when crlf is set.
// It returns the spool and the number of bytes read from r.
func readSpool(r io.Reader, crlf bool) (*spool, int64, error) {
	s := &spool{}
	var w io.Writer = spoolWriter{s}
	var lf *formats.LFWriter
	if crlf {
		lf = formats.NewLFWriter(w)
		w = lf
	}
	n, err := io.Copy(w, r)
	if err == nil && lf != nil {
		err = lf.Close()
	}
	if err != nil {
		s.Close()
		return nil, n, err
	}
	return s, n, nil
}
