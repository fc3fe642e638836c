package maildir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// fileMode and dirMode keep mail private to its owner, as Dovecot does by
// default.
const (
	fileMode = 0o600
	dirMode  = 0o700
)

// deliver writes one message: tmp/ → fsync (with mtime = INTERNALDATE) →
// rename into cur/, and marks cur/ for the next Flush, which fsyncs it. On
// any failure nothing is left behind.
func (s *Sink) deliver(ctx context.Context, f *folder, m transfer.Message, r io.Reader, letters []byte) error {
	now := time.Now()
	unique := s.newUnique(now)
	tmpPath := filepath.Join(f.dir, "tmp", unique)
	file, err := os.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
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
	if err := file.Sync(); err != nil {
		return fsError(fmt.Errorf("maildir: %w", err))
	}
	if err := file.Close(); err != nil {
		return fsError(fmt.Errorf("maildir: %w", err))
	}
	curPath := filepath.Join(f.dir, "cur", formats.MaildirFilename(unique, size, wire, letters))
	if err := os.Rename(tmpPath, curPath); err != nil {
		return fsError(fmt.Errorf("maildir: %w", err))
	}
	done = true
	s.unsynced(filepath.Join(f.dir, "cur"))
	return nil
}

// unsynced notes a directory that gained an entry since its last fsync.
func (s *Sink) unsynced(dir string) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.toSync[dir] = true
}

// Flush makes the messages of every Put that returned before it durable:
// it fsyncs each cur/ directory they were renamed into, once, however many
// messages it gained. transfer.Run journals a message only after the Flush
// that follows its Put, so a message is in the state file only once its
// file (fsync'd by Put) and its directory entry are on disk; one directory
// fsync per batch instead of one per message is the saving. On an error
// the directories stay marked for the next Flush.
func (s *Sink) Flush(ctx context.Context) error {
	s.syncMu.Lock()
	dirs := s.toSync
	s.toSync = map[string]bool{}
	s.syncMu.Unlock()
	var failed []error
	for dir := range dirs {
		if err := ctx.Err(); err != nil {
			failed = append(failed, err)
		} else if err := s.syncDir(dir); err != nil {
			failed = append(failed, fsError(fmt.Errorf("maildir: %w", err)))
		} else {
			continue
		}
		s.unsynced(dir)
	}
	return errors.Join(failed...)
}

// writeBody copies r into file, converting CRLF to LF when the body is in
// network form, and returns the stored size and its wire size. Errors
// reading r keep the class the source gave them; errors writing the file
// are classified as file system errors.
func writeBody(ctx context.Context, file *os.File, m transfer.Message, r io.Reader, path string) (size, wire int64, err error) {
	counter := &countingWriter{w: bufio.NewWriterSize(file, 64<<10)}
	var w io.Writer = counter
	var lf *formats.LFWriter
	if m.CRLF {
		lf = formats.NewLFWriter(counter)
		w = lf
	}
	buf := make([]byte, 64<<10)
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
	if err := counter.w.(*bufio.Writer).Flush(); err != nil {
		return 0, 0, fsError(fmt.Errorf("maildir: %w", err))
	}
	if m.Size > 0 && read != m.Size {
		return 0, 0, transfer.TemporaryError(fmt.Errorf("maildir: the message body was %d bytes, expected %d", read, m.Size))
	}
	return counter.n, counter.wire.Size(), nil
}

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

// syncDir fsyncs a directory, making the entries created in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// fsError classifies a local file system error: all of them stop the run
// (disk full, quota, permissions, a read-only file system), since every
// further message would fail the same way.
func fsError(err error) error { return transfer.FatalError(err) }
