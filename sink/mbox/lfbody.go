package mbox

import (
	"io"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// lfBody is the local form (LF line ends) of a network-form body, converted
// as it is read, so a message from a server reaches the file without a
// second spool. The mbox writer reads a message front to back, twice (its
// header, then all of it): a read before the current position starts the
// conversion again from the first byte, one ahead of it skips forward.
type lfBody struct {
	src  transfer.Body
	size int64     // length of the LF form
	r    io.Reader // the conversion, at pos
	pos  int64
}

// newLFBody reads body once to learn the length of its LF form.
func newLFBody(body transfer.Body) (*lfBody, error) {
	n, err := io.Copy(io.Discard, formats.NewLFReader(transfer.BodyReader(body)))
	if err != nil {
		return nil, err
	}
	return &lfBody{src: body, size: n}, nil
}

func (l *lfBody) ReadAt(p []byte, off int64) (int, error) {
	if off >= l.size {
		return 0, io.EOF
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
