package formats

import (
	"bytes"
	"io"
)

// fromPrefix is what makes a line dangerous in an mbox file.
const fromPrefix = "From "

// fromFilter applies the mboxrd quoting rule while streaming: a line matching
// ^>*From gets one more '>' (escape), and a line matching ^>+From loses one
// (unescape). Everything else passes through. Lines are separated by LF only;
// CR is an ordinary byte, so CRLF and mixed endings are handled alike.
//
// The decision for a line needs only its first bytes, which may be split
// across Write calls: the filter holds back the pending '>'s and the matched
// part of "From " until the line's prefix is decided.
type fromFilter struct {
	w        io.Writer
	unescape bool
	inPrefix bool  // at a line start, prefix still undecided
	gts      int64 // '>' seen in the pending prefix
	matched  int   // bytes of "From " matched after the '>'s
	changed  int64 // lines that gained or lost a '>'
	out      []byte
}

func newFromFilter(w io.Writer, unescape bool) *fromFilter {
	return &fromFilter{w: w, unescape: unescape, inPrefix: true}
}

// Write filters p into the underlying writer; it reports len(p) on success.
func (f *fromFilter) Write(p []byte) (int, error) {
	out := f.out[:0]
	for i := 0; i < len(p); i++ {
		if !f.inPrefix {
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				out = append(out, p[i:]...)
				break
			}
			out = append(out, p[i:i+j+1]...)
			i += j
			f.inPrefix, f.gts, f.matched = true, 0, 0
			continue
		}
		c := p[i]
		if f.matched == 0 && c == '>' {
			f.gts++
			continue
		}
		if c == fromPrefix[f.matched] {
			f.matched++
			if f.matched == len(fromPrefix) {
				n := f.gts
				switch {
				case !f.unescape:
					n++
					f.changed++
				case n > 0:
					n--
					f.changed++
				}
				out = appendGTs(out, n)
				out = append(out, fromPrefix...)
				f.inPrefix = false
			}
			continue
		}
		// Not a From line: release what was held back verbatim and
		// handle c again as an ordinary byte.
		out = f.release(out)
		i--
	}
	f.out = out
	if len(out) > 0 {
		if _, err := f.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// release appends the held-back prefix unchanged and leaves prefix mode.
func (f *fromFilter) release(out []byte) []byte {
	out = appendGTs(out, f.gts)
	out = append(out, fromPrefix[:f.matched]...)
	f.inPrefix, f.gts, f.matched = false, 0, 0
	return out
}

// Close writes a prefix still held back (a last line such as ">>Fro"). It
// does not close the underlying writer.
func (f *fromFilter) Close() error {
	if !f.inPrefix || (f.gts == 0 && f.matched == 0) {
		return nil
	}
	out := f.release(f.out[:0])
	f.inPrefix = true
	_, err := f.w.Write(out)
	return err
}

func appendGTs(b []byte, n int64) []byte {
	for ; n > 0; n-- {
		b = append(b, '>')
	}
	return b
}

// countWriter counts what is written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// filterReader runs everything read from src through a fromFilter.
type filterReader struct {
	src     io.Reader
	f       *fromFilter
	out     bytes.Buffer
	buf     []byte
	bufSize int64
	err     error
}

// newFilterReader filters src, which holds about size bytes (so small
// messages get small buffers).
func newFilterReader(src io.Reader, size int64, unescape bool) *filterReader {
	fr := &filterReader{src: src, bufSize: min(max(size, 512), 32*1024)}
	fr.f = newFromFilter(&fr.out, unescape)
	return fr
}

func (fr *filterReader) Read(p []byte) (int, error) {
	for fr.out.Len() == 0 {
		if fr.err != nil {
			return 0, fr.err
		}
		if fr.buf == nil {
			fr.buf = make([]byte, fr.bufSize)
		}
		n, err := fr.src.Read(fr.buf)
		if n > 0 {
			fr.f.Write(fr.buf[:n]) // writes into a bytes.Buffer: cannot fail
		}
		if err != nil {
			if err == io.EOF {
				fr.f.Close()
			}
			fr.err = err
		}
	}
	return fr.out.Read(p)
}
