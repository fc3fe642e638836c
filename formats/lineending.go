package formats

import (
	"bytes"
	"io"
)

// ToLF converts every CRLF pair in b to LF; bare CR and bare LF stay as
// they are. It is the conversion from network form (IMAP, POP3) to the
// local form that Maildir and mbox hold, and ToCRLF undoes it exactly for
// every message except one with a bare CR right before a line end ("\r\r\n",
// which RFC 5322 forbids): its local form "\r\n" reads back as a line end,
// as Dovecot reads it too.
func ToLF(b []byte) []byte {
	if !bytes.Contains(b, []byte("\r\n")) {
		return b
	}
	return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
}

// ToCRLF converts every LF not preceded by CR into CRLF: the conversion from
// local form to the network form IMAP APPEND requires.
func ToCRLF(b []byte) []byte {
	n := bareLFs(b, false)
	if n == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+n)
	prevCR := false
	for _, c := range b {
		if c == '\n' && !prevCR {
			out = append(out, '\r')
		}
		out = append(out, c)
		prevCR = c == '\r'
	}
	return out
}

// bareLFs counts the LFs in b not preceded by CR; prevCR says whether the
// byte before b was a CR. It jumps from LF to LF (bytes.IndexByte) rather
// than looking at every byte: the Maildir sink counts every stored byte.
func bareLFs(b []byte, prevCR bool) int {
	n := 0
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return n
		}
		if i > 0 {
			prevCR = b[i-1] == '\r'
		}
		if !prevCR {
			n++
		}
		prevCR = false
		b = b[i+1:]
	}
}

// WireSize returns the size b has in network form (after ToCRLF), the
// size IMAP reports as RFC822.SIZE.
func WireSize(b []byte) int64 { return int64(len(b) + bareLFs(b, false)) }

// WireCounter is an io.Writer that computes the network-form size of
// everything written to it, in pieces of any size.
type WireCounter struct {
	n      int64
	prevCR bool
}

// Write counts p; it never fails.
func (c *WireCounter) Write(p []byte) (int, error) {
	c.n += int64(len(p) + bareLFs(p, c.prevCR))
	if len(p) > 0 {
		c.prevCR = p[len(p)-1] == '\r'
	}
	return len(p), nil
}

// Size is the network-form size of what was written so far.
func (c *WireCounter) Size() int64 { return c.n }

// LFWriter converts CRLF to LF while streaming into an underlying writer. A
// CR at the end of one Write is held back until the next byte shows whether
// it starts a CRLF pair; Close writes a held CR.
type LFWriter struct {
	w      io.Writer
	heldCR bool
	buf    []byte
}

// NewLFWriter returns an LFWriter writing to w.
func NewLFWriter(w io.Writer) *LFWriter { return &LFWriter{w: w} }

// Reset makes lw write to w as a new LFWriter would, keeping its buffer:
// a writer reused for every message then allocates its buffer once, not
// once a message. A CR still held back is dropped: Close first.
func (lw *LFWriter) Reset(w io.Writer) {
	lw.w, lw.heldCR, lw.buf = w, false, lw.buf[:0]
}

// Write converts and writes p. It reports len(p) on success. The bytes
// between CRs are copied as runs: converting every message from a server
// goes through here (it was 44% of a POP3 → mbox run's CPU byte by byte).
func (lw *LFWriter) Write(p []byte) (int, error) {
	lw.buf = lw.buf[:0]
	if lw.heldCR && len(p) > 0 {
		lw.heldCR = false
		if p[0] != '\n' {
			lw.buf = append(lw.buf, '\r')
		}
	}
	for rest := p; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\r')
		if i < 0 {
			lw.buf = append(lw.buf, rest...)
			break
		}
		lw.buf = append(lw.buf, rest[:i]...)
		if i == len(rest)-1 {
			lw.heldCR = true
			break
		}
		if rest[i+1] != '\n' {
			lw.buf = append(lw.buf, '\r')
		}
		rest = rest[i+1:]
	}
	if _, err := lw.w.Write(lw.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close writes a CR still held back. It does not close the underlying writer.
func (lw *LFWriter) Close() error {
	if !lw.heldCR {
		return nil
	}
	lw.heldCR = false
	_, err := lw.w.Write([]byte{'\r'})
	return err
}

// CRLFWriter converts bare LF to CRLF while streaming into an underlying
// writer.
type CRLFWriter struct {
	w      io.Writer
	prevCR bool
	buf    []byte
}

// NewCRLFWriter returns a CRLFWriter writing to w.
func NewCRLFWriter(w io.Writer) *CRLFWriter { return &CRLFWriter{w: w} }

// Write converts and writes p. It reports len(p) on success.
func (cw *CRLFWriter) Write(p []byte) (int, error) {
	cw.buf = cw.buf[:0]
	for _, c := range p {
		if c == '\n' && !cw.prevCR {
			cw.buf = append(cw.buf, '\r')
		}
		cw.buf = append(cw.buf, c)
		cw.prevCR = c == '\r'
	}
	if _, err := cw.w.Write(cw.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// NewLFReader returns a reader of r with every CRLF pair turned into LF
// (ToLF), converted as it is read: the local form of a network body, without
// holding the body.
func NewLFReader(r io.Reader) io.Reader {
	c := &convReader{r: r}
	lw := NewLFWriter(&c.out)
	c.w, c.close = lw, lw.Close
	return c
}

// NewCRLFReader returns a reader of r with every bare LF turned into CRLF
// (ToCRLF), converted as it is read: the network form of a local body.
func NewCRLFReader(r io.Reader) io.Reader {
	c := &convReader{r: r}
	c.w = NewCRLFWriter(&c.out)
	return c
}

// convReader pulls r through a converting writer into out.
type convReader struct {
	r     io.Reader
	w     io.Writer // converts into out; never fails
	close func() error
	out   bytes.Buffer
	buf   []byte
	err   error // r's error (io.EOF at the end), given once out is read
}

func (c *convReader) Read(p []byte) (int, error) {
	for c.out.Len() == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if c.buf == nil {
			c.buf = make([]byte, 32<<10)
		}
		n, err := c.r.Read(c.buf)
		c.w.Write(c.buf[:n])
		if err == io.EOF && c.close != nil {
			c.close()
		}
		c.err = err
	}
	return c.out.Read(p)
}
