package mbox

import (
	"bytes"
	"io"
	"sync"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// lfMemory is the largest network-form body whose local form is converted
// once into memory; a larger one is converted as it is read, so four
// workers hold at most 4 MiB of converted bodies.
const lfMemory = 1 << 20

// lfBody is the local form (LF line ends) of a network-form body, so a
// message from a server reaches the file without a second spool. A body of
// up to lfMemory bytes is converted once into a buffer (mem) the mbox writer
// reads as often as it likes; a larger one is converted as it is read. The
// mbox writer reads a message front to back, twice (its header, then all
// of it): a read before the current position starts the conversion again
// from the first byte, one ahead of it skips forward.
type lfBody struct {
	mem  *lfBuffer // the whole local form; nil when streamed
	src  transfer.Body
	size int64     // length of the LF form
	r    io.Reader // the conversion, at pos
	pos  int64
}

// lfBuffer holds a converted body, and the chunks it was read in.
type lfBuffer struct {
	out   []byte
	chunk []byte
	lw    formats.LFWriter
}

// lfBuffers keeps the buffers of converted bodies between messages.
var lfBuffers = sync.Pool{New: func() any { return &lfBuffer{chunk: make([]byte, 32<<10)} }}

// newLFBody converts body into memory when it is small enough, else reads it
// once to count its CRLF pairs, each of which the local form has one byte
// fewer for. release gives the memory back.
func newLFBody(body transfer.Body) (*lfBody, error) {
	if body.Size() <= lfMemory {
		buf := lfBuffers.Get().(*lfBuffer)
		w := bytes.NewBuffer(buf.out[:0])
		lw := &buf.lw
		lw.Reset(w)
		_, err := io.CopyBuffer(lw, transfer.BodyReader(body), buf.chunk)
		if err == nil {
			err = lw.Close()
		}
		buf.out = w.Bytes()
		if err != nil {
			lfBuffers.Put(buf)
			return nil, err
		}
		return &lfBody{mem: buf, size: int64(len(buf.out))}, nil
	}
	pairs, err := countCRLF(transfer.BodyReader(body))
	if err != nil {
		return nil, err
	}
	return &lfBody{src: body, size: body.Size() - pairs}, nil
}

// countCRLF counts the CRLF pairs in what r reads, pairs split between two
// reads included.
func countCRLF(r io.Reader) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	lastCR := false
	for {
		k, err := r.Read(buf)
		if k > 0 {
			p := buf[:k]
			if lastCR && p[0] == '\n' {
				n++
			}
			n += int64(bytes.Count(p, []byte("\r\n")))
			lastCR = p[k-1] == '\r'
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// release gives a converted body's memory back; l is not read afterwards.
func (l *lfBody) release() {
	if l.mem != nil {
		lfBuffers.Put(l.mem)
		l.mem = nil
	}
}

func (l *lfBody) ReadAt(p []byte, off int64) (int, error) {
	if off >= l.size {
		return 0, io.EOF
	}
	if l.mem != nil {
		n := copy(p, l.mem.out[off:])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	if l.r == nil || off < l.pos {
		l.r, l.pos = formats.NewLFReader(transfer.BodyReader(l.src)), 0
	}
	if off > l.pos {
		k, err := io.CopyN(io.Discard, l.r, off-l.pos)
		l.pos += k
		if err != nil {
			l.r = nil
			return 0, unexpected(err)
		}
	}
	want := p[:min(int64(len(p)), l.size-off)]
	n, err := io.ReadFull(l.r, want)
	l.pos += int64(n)
	if err != nil {
		l.r = nil
		return n, unexpected(err)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (l *lfBody) Size() int64 { return l.size }

// unexpected turns an early end of the body into an error: its length was
// measured, so it must not end sooner.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
