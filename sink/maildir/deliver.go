package maildir

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/regfile"
	"github.com/mailferry/mailferry/transfer"
)

// fileMode and dirMode keep mail private to its owner, as Dovecot does by
// default.
const (
	fileMode = 0o600
	dirMode  = 0o700
)

// deliver writes one message into tmp/ with mtime = INTERNALDATE and
// leaves it to the next Flush, which makes it durable and renames it into
// cur/. On any failure nothing is left behind.
func (s *Sink) deliver(ctx context.Context, f *folder, m transfer.Message, r io.Reader, letters []byte) error {
	if err := s.failed(); err != nil {
		return err
	}
	if s.tooManyOpen() {
		if err := s.Flush(ctx); err != nil {
			return err
		}
	}
	now := time.Now()
	unique := s.newUnique(now)
	tmpDir := filepath.Join(f.dir, "tmp")
	keepOpen, err := s.syncer.prepare(tmpDir)
	if err != nil {
		return fsError(fmt.Errorf("maildir: %w", err))
	}
	tmpPath := filepath.Join(tmpDir, unique)
	file, err := regfile.CreateExclusive(tmpPath, fileMode)
	if err != nil {
		return fsError(fmt.Errorf("maildir: %w", err))
	}
	done := false
	defer func() {
		if !done {
			file.Close()
			os.Remove(tmpPath)
		}
	}()

	size, wire, err := writeBody(ctx, file, m, r, tmpPath)
	if err != nil {
		return err
	}
	date := m.Date
	if date.IsZero() {
		date = now
	}
	if err := os.Chtimes(tmpPath, date, date); err != nil {
		return fsError(fmt.Errorf("maildir: %w", err))
	}
	p := pendingFile{
		tmp:  tmpPath,
		cur:  filepath.Join(f.dir, "cur", formats.MaildirFilename(unique, size, wire, letters)),
		file: file,
	}
	if !keepOpen {
		if err := file.Close(); err != nil {
			return fsError(fmt.Errorf("maildir: %w", err))
		}
		p.file = nil
	}
	done = true
	s.held(p)
	return nil
}

// writeBody copies r into file, converting CRLF to LF when the body is in
// network form, and returns the stored size and its wire size. Errors
// reading r keep the class the source gave them; errors writing the file
// are classified as file system errors.
func writeBody(ctx context.Context, file *os.File, m transfer.Message, r io.Reader, path string) (size, wire int64, err error) {
	// A body in local form is written in the chunks it is read in; one
	// from a server goes through the LF conversion, whose small writes a
	// buffer gathers. Both buffers are reused: a copy of thousands of
	// small messages otherwise allocates 128 KiB for each.
	counter := &countingWriter{w: file}
	var w io.Writer = counter
	var lf *formats.LFWriter
	var buffered *bufio.Writer
	if m.CRLF {
		buffered = fileWriters.Get().(*bufio.Writer)
		buffered.Reset(file)
		defer func() {
			buffered.Reset(nil)
			fileWriters.Put(buffered)
		}()
		counter.w = buffered
		lf = lfWriters.Get().(*formats.LFWriter)
		lf.Reset(counter)
		defer func() {
			lf.Reset(nil)
			lfWriters.Put(lf)
		}()
		w = lf
	}
	bufp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bufp)
	buf := *bufp
	var read int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			read += int64(n)
			if _, werr := w.Write(buf[:n]); werr != nil {
				return 0, 0, fsError(fmt.Errorf("maildir: %w", werr))
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, fmt.Errorf("maildir: reading the message body: %w", rerr)
		}
	}
	if lf != nil {
		if err := lf.Close(); err != nil {
			return 0, 0, fsError(fmt.Errorf("maildir: %w", err))
		}
	}
	if buffered != nil {
		if err := buffered.Flush(); err != nil {
			return 0, 0, fsError(fmt.Errorf("maildir: %w", err))
		}
	}
	if m.Size > 0 && read != m.Size {
		return 0, 0, transfer.TemporaryError(fmt.Errorf("maildir: the message body was %d bytes, expected %d", read, m.Size))
	}
	return counter.n, counter.wire.Size(), nil
}

// copyBuffers, fileWriters and lfWriters hold the buffers writeBody reuses.
var (
	copyBuffers = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}
	fileWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
	lfWriters   = sync.Pool{New: func() any { return formats.NewLFWriter(nil) }}
)

// countingWriter counts the bytes stored and their wire size.
type countingWriter struct {
	w    io.Writer
	n    int64
	wire formats.WireCounter
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.wire.Write(p[:n])
	return n, err
}

// fsError classifies a local file system error: all of them stop the run
// (disk full, quota, permissions, a read-only file system), since every
// further message would fail the same way.
func fsError(err error) error { return transfer.FatalError(err) }
