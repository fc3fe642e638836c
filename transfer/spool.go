package transfer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailferry/mailferry/formats"
)

// maxHeaderKeep bounds the header block a spool keeps for fingerprinting.
const maxHeaderKeep = 256 << 10

// spool holds one message body between fetch and put, so the source stream
// can move on while the sink is busy, a failed Put can be retried from the
// start, and the sink learns the exact size before the first byte. It is
// the only copy: the sink receives it as its Body. Bodies
// up to a limit stay in memory; larger ones spill to a temporary file,
// which close removes.
type spool struct {
	mem    []byte       // the whole body, when it fits in memory
	pooled *[]byte      // mem's buffer, from spoolBuffers, until close
	memory *spoolMemory // what mem was taken from
	taken  int64        // bytes of memory held for mem, until close
	file   *os.File     // the whole body, when it did not
	size   int64        // exact length
	header []byte       // the header block (at most maxHeaderKeep bytes)
	digest string       // formats.ContentDigest of the body, once known (contentDigest)
}

// errSpool marks a failure writing the spool itself (as opposed to reading
// the source), which is local and fatal.
type errSpool struct{ err error }

func (e *errSpool) Error() string { return "spool: " + e.err.Error() }
func (e *errSpool) Unwrap() error { return e.err }

// spoolMemory is the memory the spools of one run share. A body is kept in
// memory while the buffer it needs fits in what the other spools leave;
// otherwise it spills to a temporary file. One bound for all spools, rather
// than a share for each, keeps most bodies in memory whatever the number
// of workers: a run whose sink asked for 128 Put workers gave each spool
// 64 KiB, and every message with an attachment went through a temporary
// file (written, read back, deleted: file system work that, on an ext4
// without a journal, also slows the creation of every later file).
//
// A body waits a moment (wait) for memory that other spools are about to
// give back before it spills: into IMAP the spools of a batch are held
// until the server answers its command, and spilling whatever met the
// memory full sent 384 bodies of the benchmark (about 230 MB of its 726
// MB, the 100 MiB message among them) through temporary files; 65 with
// the wait.
type spoolMemory struct {
	limit   int64 // bytes all spools may hold at once
	maxBody int64 // the largest body held in memory
	used    atomic.Int64
	wait    time.Duration // how long a body may wait for memory; 0: not at all

	mu    sync.Mutex
	freed chan struct{} // closed by the next give
}

func newSpoolMemory(limit, maxBody int64) *spoolMemory {
	return &spoolMemory{limit: limit, maxBody: min(maxBody, limit)}
}

// take reserves n bytes, reporting whether they were free.
func (m *spoolMemory) take(n int64) bool {
	for {
		used := m.used.Load()
		if used+n > m.limit {
			return false
		}
		if m.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// takeWaiting reserves n bytes like take, waiting up to m.wait for other
// spools to give back what it needs.
func (m *spoolMemory) takeWaiting(n int64) bool {
	if m.take(n) {
		return true
	}
	if m.wait <= 0 || n > m.limit {
		return false
	}
	timeout := time.NewTimer(m.wait)
	defer timeout.Stop()
	for {
		m.mu.Lock()
		if m.freed == nil {
			m.freed = make(chan struct{})
		}
		freed := m.freed
		m.mu.Unlock()
		// Tried again after freed is taken, so a give between the
		// failed take and the wait is not missed.
		if m.take(n) {
			return true
		}
		select {
		case <-freed:
		case <-timeout.C:
			return false
		}
	}
}

// give returns n bytes taken before and wakes the bodies waiting for them.
func (m *spoolMemory) give(n int64) {
	m.used.Add(-n)
	m.mu.Lock()
	if m.freed != nil {
		close(m.freed)
		m.freed = nil
	}
	m.mu.Unlock()
}

// newSpool reads r to its end. hint is the expected size (0 if unknown).
// A body is kept in memory when it is at most mem.maxBody bytes long and
// its buffer fits in mem; otherwise it goes to a temporary file in dir. An
// error reading r is returned as it is (the source classified it); an
// error writing the temporary file is Fatal and wrapped in *errSpool.
func newSpool(r io.Reader, hint int64, mem *spoolMemory, dir string) (*spool, error) {
	memLimit := mem.maxBody
	capHint := hint + 1 // +1 so a body of exactly hint bytes sees EOF without growing
	if capHint <= 1 || capHint > memLimit+1 {
		capHint = min(memLimit+1, 32<<10)
	}
	// A body the source says is larger than memLimit goes to the file at
	// once: growing a buffer up to memLimit first only to spill it
	// allocated (and copied) about twice memLimit for every such body.
	// A hint that was too large costs a small file; one that was too
	// small still grows the buffer below.
	var buf []byte
	var pooled *[]byte
	var taken int64 // of mem, for buf
	if hint <= memLimit && mem.takeWaiting(capHint) {
		taken = capHint
		pooled = getSpoolBuffer(capHint)
		buf = (*pooled)[:0:capHint]
	}
	for taken > 0 && int64(len(buf)) <= memLimit {
		if len(buf) == cap(buf) {
			grow := min(2*int64(cap(buf)), memLimit+1)
			if !mem.take(grow - int64(cap(buf))) {
				break
			}
			taken = grow
			grown := make([]byte, len(buf), grow)
			copy(grown, buf)
			buf = grown
			putSpoolBuffer(pooled)
			pooled = nil
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > memLimit {
				break
			}
			// The header is copied out of the pooled buffer: reports read
			// it after close, from other goroutines. The digest waits for
			// contentDigest (see there).
			return &spool{mem: buf, pooled: pooled, memory: mem, taken: taken, size: int64(len(buf)),
				header: bytes.Clone(buf[:headerLen(buf)])}, nil
		}
		if err != nil {
			putSpoolBuffer(pooled)
			mem.give(taken)
			return nil, err
		}
	}
	// What was read so far is written to the file first; its memory is
	// given back when newSpool returns.
	defer mem.give(taken)
	defer putSpoolBuffer(pooled)
	// Too large for memory: spill what we have and the rest to a file.
	f, err := os.CreateTemp(dir, "mailferry-spool-*")
	if err != nil {
		return nil, FatalError(&errSpool{err})
	}
	sp := &spool{file: f}
	head := &headCollector{b: bytes.Clone(buf[:min(len(buf), maxHeaderKeep)])}
	head.done = len(head.b) == maxHeaderKeep || headerDone(head.b)
	fail := func(err error) (*spool, error) {
		sp.close()
		return nil, err
	}
	if _, err := f.Write(buf); err != nil {
		return fail(FatalError(&errSpool{err}))
	}
	d := formats.NewDigester()
	d.Write(buf)
	fw := getSpillBuffer(f)
	defer putSpillBuffer(fw)
	n, err := io.Copy(io.MultiWriter(fw, head, d), r)
	if err == nil {
		err = fw.Flush()
	}
	if err != nil {
		var se *errSpool
		if errors.As(err, &se) {
			return fail(FatalError(err))
		}
		return fail(err)
	}
	sp.size = int64(len(buf)) + n
	sp.header = head.b[:headerLen(head.b)]
	sp.digest = d.Sum()
	return sp, nil
}

// spoolClasses are the capacities of the pooled spool buffers: 32 KiB
// doubling up to 2 MiB, which holds a body of the SpoolMemory of four
// workers (1 MiB); a larger limit's largest buffers are not pooled.
// Reusing them spares allocating (and zeroing, and collecting) a buffer
// for every message.
const (
	spoolClassMin = 32 << 10
	spoolClasses  = 7
)

var spoolBuffers [spoolClasses]sync.Pool

// getSpoolBuffer returns a buffer of at least n bytes' capacity: pooled
// when n fits a class, else allocated for the one use.
func getSpoolBuffer(n int64) *[]byte {
	k := 0
	for k < spoolClasses && int64(spoolClassMin)<<k < n {
		k++
	}
	if k == spoolClasses {
		b := make([]byte, 0, n)
		return &b
	}
	if b, ok := spoolBuffers[k].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, spoolClassMin<<k)
	return &b
}

// putSpoolBuffer gives a buffer back to the class it can serve; nil and
// buffers of no class are left to the collector.
func putSpoolBuffer(b *[]byte) {
	if b == nil {
		return
	}
	for k := spoolClasses - 1; k >= 0; k-- {
		if c := spoolClassMin << k; cap(*b) == c {
			*b = (*b)[:0]
			spoolBuffers[k].Put(b)
			return
		}
	}
}

// headCollector keeps the start of a spilled body until its header block
// is complete (or maxHeaderKeep bytes), however small the memory limit.
type headCollector struct {
	b    []byte
	done bool
}

func (h *headCollector) Write(p []byte) (int, error) {
	if !h.done {
		h.b = append(h.b, p[:min(len(p), maxHeaderKeep-len(h.b))]...)
		h.done = len(h.b) == maxHeaderKeep || headerDone(h.b)
	}
	return len(p), nil
}

// headerDone reports whether b holds the blank line that ends a header.
func headerDone(b []byte) bool {
	if n := formats.HeaderEnd(b); n < len(b) {
		return true
	}
	// HeaderEnd says len(b) both for a header ending exactly at the end
	// of b and for one without an end yet.
	return bytes.HasSuffix(b, []byte("\n\n")) || bytes.HasSuffix(b, []byte("\n\r\n")) ||
		bytes.Equal(b, []byte("\n")) || bytes.Equal(b, []byte("\r\n"))
}

// spillBuffers are the write buffers of spills: the source's reader hands
// over 4 KiB at a time, and the 100 MiB message of the benchmark took
// 25,600 writes to its temporary file without one.
var spillBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, spillBufferSize) }}

const spillBufferSize = 128 << 10

// getSpillBuffer returns a pooled buffered writer to f.
func getSpillBuffer(f *os.File) *bufio.Writer {
	w := spillBuffers.Get().(*bufio.Writer)
	w.Reset(&spillWriter{f: f})
	return w
}

// putSpillBuffer gives w back, holding nothing of its file.
func putSpillBuffer(w *bufio.Writer) {
	w.Reset(nil)
	spillBuffers.Put(w)
}

// spillWriter marks write errors on the spill file as spool errors, so they
// are not mistaken for errors of the source stream.
type spillWriter struct{ f *os.File }

func (w *spillWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		return n, &errSpool{err}
	}
	return n, nil
}

// headerLen returns how much of the start of a body is its header block,
// at most maxHeaderKeep.
func headerLen(b []byte) int {
	if len(b) > maxHeaderKeep {
		b = b[:maxHeaderKeep]
	}
	return formats.HeaderEnd(b)
}

// The spool is the Body a Sink receives: the one copy of the body, read as
// often as the sink needs (a retried Put starts again from the first byte).
var _ Body = (*spool)(nil)

// ReadAt reads the spooled body at off.
func (s *spool) ReadAt(p []byte, off int64) (int, error) {
	if s.file != nil {
		if off >= s.size {
			return 0, io.EOF
		}
		n, err := s.file.ReadAt(p[:min(int64(len(p)), s.size-off)], off)
		if err == nil && n < len(p) {
			err = io.EOF
		}
		return n, err
	}
	if off >= int64(len(s.mem)) {
		return 0, io.EOF
	}
	n := copy(p, s.mem[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// contentDigest returns formats.ContentDigest of the body. A spilled body's
// was computed as it was written; an in-memory body's is computed here, by
// the put worker that stores it, rather than by the fetch that read it: a
// POP3 maildrop is fetched by one goroutine, and the digest was half of
// its CPU, while the put workers run side by side. Only the spool's one
// owner calls it.
func (s *spool) contentDigest() string {
	if s.digest == "" && s.mem != nil {
		s.digest = formats.ContentDigest(s.mem)
	}
	return s.digest
}

// Size is the body's exact length.
func (s *spool) Size() int64 { return s.size }

// subject returns the body's subject, printable and short, for reports.
func (s *spool) subject() string { return printable(subject(s.header), maxSubject) }

// key returns formats.IdentityKey of the body.
func (s *spool) key() string { return formats.IdentityKey(s.header) }

// close releases the memory and removes the temporary file. The header
// stays readable (subject, key): it is not in the pooled buffer.
func (s *spool) close() error {
	if s.pooled != nil {
		putSpoolBuffer(s.pooled)
		s.pooled = nil
	}
	if s.taken > 0 {
		s.memory.give(s.taken)
		s.taken = 0
	}
	s.mem = nil
	if s.file == nil {
		return nil
	}
	name := s.file.Name()
	err := s.file.Close()
	if rerr := os.Remove(name); rerr != nil && err == nil {
		err = rerr
	}
	s.file = nil
	if err != nil {
		return fmt.Errorf("spool %s: %w", name, err)
	}
	return nil
}

// bodyDigest is an io.Writer that learns a body's identity key, content
// digest and size with CRLF line ends, without keeping the body.
type bodyDigest struct {
	head headCollector
	d    *formats.Digester
}

func newBodyDigest() *bodyDigest { return &bodyDigest{d: formats.NewDigester()} }

func (b *bodyDigest) Write(p []byte) (int, error) {
	b.head.Write(p)
	return b.d.Write(p)
}

func (b *bodyDigest) sum() (key, digest string, vsize int64) {
	return formats.IdentityKey(b.header()), b.d.Sum(), b.d.VirtualSize()
}

// header is the header block of what was written (at most maxHeaderKeep
// bytes).
func (b *bodyDigest) header() []byte { return b.head.b[:headerLen(b.head.b)] }
