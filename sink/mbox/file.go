package mbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/mboxmeta"
	"github.com/mailferry/mailferry/transfer"
)

// lockWait is how long opening a file waits for another process's lock.
var lockWait = 30 * time.Second

// bufferSize is the write buffer of each open file.
const bufferSize = 256 * 1024

// mboxFile is one mbox file the sink appends to. Its mutex serializes the
// writers of this file; different files are written in parallel.
type mboxFile struct {
	path     string
	rel      string // path relative to the archive, slash-separated: its record's key
	meta     *meta
	readOnly bool // a dry run: the file is read and never changed
	mu       sync.Mutex

	opened  bool
	openErr error
	f       *os.File
	bw      *bufio.Writer
	disk    int64 // bytes in the file (written out of bw)
	size    int64 // disk plus what bw holds
	flushed int64 // size at the last successful flush: a message boundary
	// count is how many complete messages the file holds up to size, and
	// flushedCount up to flushed; mboxmeta.UnknownMessages when the file
	// was not known to the sink when it opened it (see repair).
	count        int64
	flushedCount int64
	// syncing is set while a flush fsyncs the file up to syncEnd with mu
	// released; synced is signalled when it is done.
	syncing bool
	syncEnd int64
	synced  *sync.Cond
	prefix  string // line feeds owed before the next message
	dirty   bool   // written since the last fsync
	created []string
	broken  error // a failed write could not be undone
	marked  bool  // the record says a run is writing to the file

	// base is the X-IMAPbase field of the file's first message, the
	// keyword list Dovecot reads (nil when the file has none); rw writes
	// a longer list into it in place; baseFull is set once the list has
	// no more room and the user was told.
	base     *formats.MboxIMAPBase
	rw       *os.File
	baseFull bool
}

// diskWriter writes to the file and counts what reached it; its errors are
// marked so append can tell them from problems with the message itself.
type diskWriter struct{ mf *mboxFile }

type diskError struct{ err error }

func (e *diskError) Error() string { return e.err.Error() }
func (e *diskError) Unwrap() error { return e.err }

func (w diskWriter) Write(p []byte) (int, error) {
	n, err := w.mf.f.Write(p)
	w.mf.disk += int64(n)
	if err != nil {
		return n, &diskError{err}
	}
	return n, nil
}

// open opens (creating it if create is set) and locks the file, repairs a
// torn tail and checks that it is an mbox file. Called with mu held.
func (mf *mboxFile) open(ctx context.Context, create bool, warn func(string)) error {
	if mf.opened {
		return mf.openErr
	}
	err := mf.doOpen(ctx, create, warn)
	if err != nil && errors.Is(err, context.Canceled) {
		return err // not remembered: a later call may succeed
	}
	mf.opened, mf.openErr = true, err
	return err
}

func (mf *mboxFile) doOpen(ctx context.Context, create bool, warn func(string)) error {
	flags := os.O_RDWR | os.O_APPEND
	if mf.readOnly {
		flags, create = os.O_RDONLY, false
	}
	if create {
		dir := filepath.Dir(mf.path)
		created, err := mkdirAll(dir)
		if err != nil {
			return transfer.FatalError(fmt.Errorf("mbox %s: creating directory: %w", dir, err))
		}
		mf.created = created
		flags |= os.O_CREATE
		if _, err := os.Lstat(mf.path); errors.Is(err, os.ErrNotExist) {
			mf.created = append(mf.created, dir)
		}
	}
	f, err := os.OpenFile(mf.path, flags, 0o600)
	if err != nil {
		return transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, err))
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err == nil {
		err = lockFile(ctx, f, lockWait)
	}
	if err != nil {
		f.Close()
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, err))
	}
	mf.f = f
	size, err := mf.repair(warn)
	if err != nil {
		f.Close()
		mf.f = nil
		return transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, err))
	}
	mf.disk, mf.size, mf.flushed = size, size, size
	mf.flushedCount = mf.count
	return nil
}

// repair checks the file, cuts off what an interrupted run left at its end
// and works out the line feeds owed before the next message. It returns
// the file size.
//
// What was committed is known from the file's record (see fileRecord):
// when a run was killed while appending, everything past the size of the
// last Flush is cut off, complete messages included, since none of it was
// journaled and the next run copies it again. A file without a record (an
// archive written before records existed, or another program's file) is
// checked by its content instead: a last message that is an old framed
// one cut short, or a From_ line cut short.
func (mf *mboxFile) repair(warn func(string)) (int64, error) {
	fi, err := mf.f.Stat()
	if err != nil {
		return 0, err
	}
	size := fi.Size()
	rec, err := mf.meta.get(mf.rel)
	if err != nil {
		return 0, err
	}
	if size > 0 {
		if _, err := formats.NewMboxReader(mf.f, size).Next(); err != nil && err != io.EOF {
			if errors.Is(err, formats.ErrNotMbox) {
				return 0, fmt.Errorf("will not append to a file that is not an mbox file: %w", err)
			}
			return 0, err
		}
	}
	cut := size
	mf.count = mboxmeta.UnknownMessages
	switch {
	case rec == nil:
		if cut, err = tornTail(mf.f, size); err != nil {
			return 0, err
		}
	default:
		torn, err := rec.Uncommitted(mf.f, size)
		if err != nil {
			return 0, err
		}
		if torn {
			cut = rec.Size
			mf.count = rec.Messages
		} else if holds, err := rec.Holds(mf.f, size); err != nil {
			return 0, err
		} else if holds {
			mf.count = rec.Messages
		}
	}
	if cut == 0 {
		mf.count = 0
	}
	if cut < size && mf.readOnly {
		if warn != nil {
			warn(fmt.Sprintf("mbox %s: the %d bytes at its end (from byte %d) that an interrupted run had not finished writing are not read as mail; "+
				"a run that is not a dry run removes them and saves them in %s", mf.path, size-cut, cut, filepath.Join(mf.meta.dir, mboxmeta.TornDir)))
		}
		size = cut
	} else if cut < size {
		saved, err := mf.meta.saveTorn(mf.rel, mf.f, cut, size)
		if err != nil {
			return 0, fmt.Errorf("saving the %d bytes at its end that were never committed (from byte %d) before removing them: %w", size-cut, cut, err)
		}
		if err := mf.f.Truncate(cut); err != nil {
			return 0, err
		}
		if err := mf.f.Sync(); err != nil {
			return 0, err
		}
		if warn != nil {
			warn(fmt.Sprintf("mbox %s: removed %d bytes from its end (from byte %d) that an interrupted run had not finished writing; "+
				"the messages in them are copied again, and the bytes are saved in %s (delete it once you have checked)",
				mf.path, size-cut, cut, saved))
		}
		size = cut
	}
	mf.base = nil
	if b, ok, err := formats.ReadMboxIMAPBase(mf.f, size); err != nil {
		return 0, err
	} else if ok {
		mf.base = &b
	}
	if size > 0 {
		tail := make([]byte, min(size, 3))
		if _, err := mf.f.ReadAt(tail, size-int64(len(tail))); err != nil {
			return 0, err
		}
		mf.prefix = formats.MboxAppendPrefix(tail)
	}
	if err := mf.record(size, mf.count, false); err != nil {
		return 0, err
	}
	return size, nil
}

// record notes that the file now ends, durably, at size, holding count
// messages; open says a run may have written past it.
func (mf *mboxFile) record(size, count int64, open bool) error {
	from := mf.hashFrom()
	h, err := mboxmeta.TailHash(mf.f, from, size)
	if err != nil {
		return err
	}
	return mf.meta.set(mf.rel, fileRecord{Size: size, Tail: h, Open: open, From: from, Messages: count})
}

// hashFrom is where the bytes a record hashes may start: after the
// X-IMAPbase value, which the sink rewrites in place.
func (mf *mboxFile) hashFrom() int64 {
	if mf.base == nil {
		return 0
	}
	return mf.base.Offset + int64(mf.base.Room)
}

// tornTail returns where the file should end: its size, or the start of an
// incomplete last message. It reads only the end of the file: in a file
// mailferry wrote, every line that starts with "From " after a blank line
// starts a message, so the last such line starts the last message.
func tornTail(ra io.ReaderAt, size int64) (int64, error) {
	const chunk = 64 * 1024
	end := size
	for end > 0 {
		lo := max(end-chunk, 0)
		buf := make([]byte, end-lo+min(size-end, 6))
		if _, err := ra.ReadAt(buf, lo); err != nil && err != io.EOF {
			return 0, err
		}
		for i := int64(len(buf)) - 1; i >= 0; i-- {
			p := lo + i
			if p >= end || !messageStart(buf, i, p) {
				continue
			}
			m, err := lastMessage(ra, size, p)
			if err != nil {
				if errors.Is(err, formats.ErrNotMbox) {
					continue // a "From " line inside a foreign message
				}
				return 0, err
			}
			if m != nil && m.Incomplete {
				return m.Offset, nil
			}
			return size, nil
		}
		end = lo
	}
	return size, nil
}

// messageStart reports whether position p (index i of buf) may start a
// message: at the start of the file or after a blank line, and the line
// starts with "From " or is a piece of one at the end of the file.
func messageStart(buf []byte, i, p int64) bool {
	if p > 0 && (i < 2 || buf[i-1] != '\n' || buf[i-2] != '\n') {
		return false
	}
	rest := buf[i:]
	if len(rest) >= 5 {
		return string(rest[:5]) == "From "
	}
	return len(rest) > 0 && "From "[:len(rest)] == string(rest)
}

// lastMessage reads the messages from offset p to the end and returns the
// last one.
func lastMessage(ra io.ReaderAt, size, p int64) (*formats.MboxMessage, error) {
	r := formats.NewMboxReader(ra, size)
	r.SeekMessage(p)
	var last *formats.MboxMessage
	for {
		m, err := r.Next()
		if err == io.EOF {
			return last, nil
		}
		if err != nil {
			return nil, err
		}
		last = m
	}
}

// append writes one message: pre when it was rendered already and the
// message does not start the file (whose first message carries the
// keyword list), else body through the mbox writer. Called with mu held
// and the file open.
func (mf *mboxFile) append(env formats.MboxEnvelope, body transfer.Body, pre *rendered, warn func(string)) error {
	if mf.broken != nil {
		return mf.broken
	}
	if !mf.marked {
		// Before the first byte of this run reaches the file, the record
		// says so durably: a crash from here on leaves bytes past the
		// recorded size that repair may cut.
		if err := mf.record(mf.flushed, mf.flushedCount, true); err != nil {
			return transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, err))
		}
		if err := mf.meta.save(); err != nil {
			return transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, err))
		}
		mf.marked = true
	}
	if mf.bw == nil {
		// Buffers exist only between a file's first Put and the next
		// Flush, so a sink with many folders keeps few of them.
		mf.bw = bufio.NewWriterSize(diskWriter{mf}, bufferSize)
	}
	if err := mf.listKeywords(env.Flags, warn); err != nil {
		return err
	}
	start := mf.size
	var n int64
	if mf.prefix != "" {
		k, err := mf.bw.WriteString(mf.prefix)
		n += int64(k)
		if err != nil {
			return mf.undo(start, err)
		}
	}
	w := formats.NewMboxWriter(mf.bw)
	var base formats.MboxIMAPBase
	var k int64
	var err error
	switch {
	case start == 0:
		// The first message of the file carries the keyword list.
		k, base, err = w.WriteFirstMessage(env, formats.NewMboxIMAPBase(uint32(time.Now().Unix()), env.Flags), body, body.Size())
	case pre != nil:
		var wrote int
		wrote, err = mf.bw.Write(pre.buf.Bytes())
		k = int64(wrote)
	default:
		k, err = w.WriteMessage(env, body, body.Size())
	}
	n += k
	if err != nil {
		return mf.undo(start, err)
	}
	if start == 0 {
		base.Offset += start + int64(len(mf.prefix))
		mf.base = &base
	}
	mf.prefix = ""
	mf.size = start + n
	if mf.count >= 0 {
		mf.count++
	}
	mf.dirty = true
	return nil
}

// listKeywords adds the keywords among flags that the file's X-IMAPbase
// does not list yet, writing the longer list in place, before the message
// that needs it: a list naming a keyword no message has is harmless, a
// message whose keyword is not listed shows none of its keywords in
// Dovecot. A file without the field (one another program or an older
// version started) is left as it is; when the field is full, the user is
// told once which keywords Dovecot will not show.
func (mf *mboxFile) listKeywords(flags []string, warn func(string)) error {
	if mf.base == nil || mf.size == 0 {
		return nil
	}
	missing := mf.base.Missing(flags)
	if len(missing) == 0 {
		return nil
	}
	nb, value, ok := mf.base.With(missing)
	if !ok {
		if !mf.baseFull && warn != nil {
			warn(fmt.Sprintf("mbox %s: from the keyword %q on, new keywords are kept in the messages' X-Keywords headers, but Dovecot will not show them: "+
				"the X-IMAPbase header of the file's first message, which lists the keywords Dovecot accepts, has no room left", mf.path, missing[0]))
		}
		mf.baseFull = true
		return nil
	}
	if end := nb.Offset + int64(nb.Room); end > mf.disk {
		// The field is still in the buffer: write it out first.
		if err := mf.bw.Flush(); err != nil {
			var de *diskError
			if errors.As(err, &de) {
				err = de.err
			}
			mf.broken = transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, err))
			mf.bw.Reset(diskWriter{mf})
			mf.cutBack(mf.floor())
			return mf.broken
		}
	}
	if mf.rw == nil {
		// The file is open for appending, which writes only at its end.
		rw, err := os.OpenFile(mf.path, os.O_WRONLY, 0)
		if err != nil {
			return transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, err))
		}
		mf.rw = rw
	}
	if _, err := mf.rw.WriteAt(value, nb.Offset); err != nil {
		return transfer.FatalError(fmt.Errorf("mbox %s: updating the X-IMAPbase header: %w", mf.path, err))
	}
	mf.base = &nb
	mf.dirty = true // the next flush's fsync makes it durable
	return nil
}

// undo deals with a message that could not be written. When nothing of it
// was written (the writer refused it up front), only this message fails.
// Otherwise part of it is buffered or in the file: the buffer is dropped,
// the file is cut back to the end of the last message if all earlier ones
// reached it (else the next open repairs the torn tail), and the sink stops
// taking messages for this file. Buffered messages dropped with it were
// never flushed, so they were never journaled and the next run copies them.
func (mf *mboxFile) undo(start int64, err error) error {
	var de *diskError
	isDisk := errors.As(err, &de)
	if mf.disk+int64(mf.bw.Buffered()) == start {
		if isDisk {
			mf.broken = transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, de.err))
			return mf.broken
		}
		return transfer.PerMessageError(fmt.Errorf("mbox %s: %w", mf.path, err))
	}
	mf.bw.Reset(diskWriter{mf})
	cut := mf.floor()
	if mf.disk >= start {
		cut = start
	}
	mf.broken = transfer.FatalError(fmt.Errorf("mbox %s: writing a message failed halfway: %w", mf.path, err))
	mf.cutBack(cut)
	return mf.broken
}

// floor is the least size a failed write may cut the file back to: the
// last flush's, or the end a flush is making durable.
func (mf *mboxFile) floor() int64 {
	if mf.syncing {
		return max(mf.flushed, mf.syncEnd)
	}
	return mf.flushed
}

// cutBack truncates the file to end, the end of a complete message, after a
// failed write, so no partial message stays visible. If even that fails,
// the next open repairs the torn tail.
func (mf *mboxFile) cutBack(end int64) {
	if mf.disk > end && mf.f.Truncate(end) == nil {
		mf.disk = end
		mf.f.Sync()
	}
	mf.size = mf.disk
}

// flush writes the buffer out and fsyncs the file and the directories the
// sink created for it. Called with mu held, which it releases during the
// file's fsync.
func (mf *mboxFile) flush() error {
	for mf.syncing {
		mf.synced.Wait()
	}
	if mf.f == nil || mf.broken != nil {
		return mf.broken
	}
	if mf.bw != nil {
		if err := mf.bw.Flush(); err != nil {
			var de *diskError
			if errors.As(err, &de) {
				err = de.err
			}
			mf.broken = transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, err))
			mf.bw = nil
			mf.cutBack(mf.floor())
			return mf.broken
		}
		mf.bw = nil
	}
	end, endCount := mf.size, mf.count
	if mf.dirty {
		// The fsync runs without the lock, so Puts go on appending past
		// end meanwhile; nothing cuts the file back below end (floor),
		// and a second flush waits for this one.
		mf.dirty = false
		mf.syncing, mf.syncEnd = true, end
		f := mf.f
		mf.mu.Unlock()
		err := f.Sync()
		mf.mu.Lock()
		mf.syncing = false
		mf.synced.Broadcast()
		if err != nil {
			mf.broken = transfer.FatalError(fmt.Errorf("mbox %s: fsync: %w", mf.path, err))
			return mf.broken
		}
		if mf.broken != nil {
			return mf.broken
		}
	}
	if mf.flushed != end {
		mf.flushed, mf.flushedCount = end, endCount
		// The caller saves the records before it reports the flush.
		if err := mf.record(mf.flushed, mf.flushedCount, mf.marked); err != nil {
			return transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, err))
		}
	}
	for len(mf.created) > 0 {
		dir := mf.created[len(mf.created)-1]
		if err := syncDir(dir); err != nil {
			return transfer.FatalError(fmt.Errorf("mbox %s: fsync directory: %w", dir, err))
		}
		mf.created = mf.created[:len(mf.created)-1]
	}
	return nil
}

// close flushes, then releases the lock and the file.
func (mf *mboxFile) close() error {
	if mf.f == nil {
		return nil
	}
	err := mf.flush()
	if err == nil && mf.marked {
		// Written and flushed to the end: no run is writing any more.
		err = mf.record(mf.flushed, mf.flushedCount, false)
	}
	if cerr := mf.f.Close(); err == nil && cerr != nil {
		err = transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, cerr))
	}
	if mf.rw != nil {
		if cerr := mf.rw.Close(); err == nil && cerr != nil {
			err = transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, cerr))
		}
		mf.rw = nil
	}
	mf.f = nil
	mf.openErr = errors.New("sink is closed")
	return err
}

// scan calls fn for each complete message in the file, numbered from 0,
// with the message as the mbox source reads it. Called with mu held and the
// file open.
func (mf *mboxFile) scan(ctx context.Context, fn func(n int, body io.Reader) error) error {
	if err := mf.flush(); err != nil {
		return err
	}
	r := formats.NewMboxReader(mf.f, mf.disk)
	for n := 0; ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, err))
		}
		if m.Incomplete {
			continue
		}
		if err := fn(n, m.Body()); err != nil {
			return transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, err))
		}
		n++
	}
}

// headerCapture keeps the header block of what is written to it, up to
// and including the first empty line (as formats.HeaderEnd finds it).
type headerCapture struct {
	buf       []byte
	done      bool
	midLine   bool
	pendingCR bool
}

func (h *headerCapture) Write(p []byte) (int, error) {
	if h.done {
		return len(p), nil
	}
	for i, c := range p {
		switch {
		case c == '\n' && (!h.midLine || h.pendingCR):
			h.buf = append(h.buf, p[:i+1]...)
			h.done = true
			return len(p), nil
		case c == '\n':
			h.midLine, h.pendingCR = false, false
		case c == '\r' && !h.midLine:
			h.midLine, h.pendingCR = true, true
		default:
			h.midLine, h.pendingCR = true, false
		}
	}
	h.buf = append(h.buf, p...)
	return len(p), nil
}

// mkdirAll creates dir and its missing parents, and returns those it
// created, outermost first, so their parents can be fsynced.
func mkdirAll(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var parents []string
	for i := len(missing) - 1; i >= 0; i-- {
		parents = append(parents, filepath.Dir(missing[i]))
	}
	return parents, nil
}

// syncDir fsyncs a directory, making the entries created in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
