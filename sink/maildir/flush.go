package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"github.com/mailferry/mailferry/internal/plural"
	"github.com/mailferry/mailferry/internal/regfile"
)

// pendingFile is a message whose Put returned: written into its folder's
// tmp/, not yet durable, renamed into cur/ by the next Flush.
type pendingFile struct {
	tmp, cur string
	// file is the message's file, left open when the syncer fsyncs each
	// file (an fd opened before the write is the one that is sure to see
	// the write's error); nil when Put closed it.
	file *os.File
}

// dataSyncer makes the data of a batch of files durable, and then the
// entries they get in cur/. fsyncEach is the portable one; on Linux,
// syncfs(2) syncs a whole file system at once (datasync_linux.go).
type dataSyncer interface {
	// prepare is called before a message is written into dir (a
	// folder's tmp/); it reports whether Put must leave the file open
	// for sync.
	prepare(dir string) (keepOpen bool, err error)
	// sync makes the data and inodes of the batch's files durable and
	// closes the files left open. An error means some of it may be lost.
	sync(batch []pendingFile) error
	// syncDirs makes the entries of directories durable.
	syncDirs(dirs []string) error
	// close releases what prepare opened.
	close() error
}

// maxOpenPending bounds the files Put leaves open for Flush: a Put that
// would leave more flushes first. transfer.Run flushes every 64 messages.
const maxOpenPending = 256

// held notes a message written into tmp/ for the next Flush.
func (s *Sink) held(p pendingFile) {
	s.syncMu.Lock()
	s.pending = append(s.pending, p)
	if p.file != nil {
		s.openPending++
	}
	s.syncMu.Unlock()
}

// tooManyOpen reports whether Put has left maxOpenPending files open.
func (s *Sink) tooManyOpen() bool {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	return s.openPending >= maxOpenPending
}

// failed returns the error that broke the sink, nil while it works.
func (s *Sink) failed() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	return s.broken
}

// Flush makes the messages of every Put that returned before it durable:
// it syncs the batch's files, then renames each from tmp/ into cur/, then
// syncs the entries of each cur/ that gained some (see dataSyncer).
// transfer.Run journals a message only after the Flush that follows its
// Put, so a message is in the state file only once its file and its
// directory entry are on disk; and as a file reaches cur/ only once its
// data is durable, a crash leaves in cur/ only whole messages.
//
// A failed sync breaks the sink for good: the kernel reports a lost
// write once and may then call the same file clean, so no later Flush
// could honestly say the batch is on disk. The batch's files still in
// tmp/ are removed, and this and every later Put and Flush return the
// error (Fatal), so no message of the batch, nor any later one, is
// journaled; a new run copies them again.
func (s *Sink) Flush(ctx context.Context) error {
	// One Flush at a time: a second one must not return while the
	// first still syncs messages Put before both.
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.syncMu.Lock()
	batch, broken := s.pending, s.broken
	s.pending, s.openPending = nil, 0
	s.syncMu.Unlock()
	if broken != nil {
		discard(batch)
		return broken
	}
	if len(batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		s.syncMu.Lock()
		s.pending = append(batch, s.pending...)
		for _, p := range batch {
			if p.file != nil {
				s.openPending++
			}
		}
		s.syncMu.Unlock()
		return err
	}
	if err := s.syncer.sync(batch); err != nil {
		return s.breakDown(batch, fmt.Errorf("making %s durable: %w", plural.Count(len(batch), "message"), err))
	}
	var dirs []string
	for i, p := range batch {
		if err := regfile.Rename(p.tmp, p.cur); err != nil {
			return s.breakDown(batch[i:], err)
		}
		if dir := filepath.Dir(p.cur); !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
	}
	if err := s.syncer.syncDirs(dirs); err != nil {
		return s.breakDown(nil, err)
	}
	return nil
}

// breakDown records err as the sink's last word and removes the files of
// rest from tmp/.
func (s *Sink) breakDown(rest []pendingFile, err error) error {
	discard(rest)
	err = fsError(fmt.Errorf("maildir %s: %w; no message of this batch is recorded as copied, and nothing more is written", s.root, err))
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.broken == nil {
		s.broken = err
	}
	return s.broken
}

// discard closes and removes files that will never reach cur/.
func discard(batch []pendingFile) {
	for _, p := range batch {
		if p.file != nil {
			p.file.Close()
		}
		os.Remove(p.tmp)
	}
}

// fsyncEach is the portable dataSyncer: Put leaves each file open, and
// sync fsyncs them, syncParallel at a time, so the file system can commit
// them together instead of one journal commit per message.
type fsyncEach struct{}

// syncParallel is how many fsyncs fsyncEach runs at once.
const syncParallel = 16

func (fsyncEach) prepare(string) (bool, error) { return true, nil }

func (fsyncEach) syncDirs(dirs []string) error {
	for _, dir := range dirs {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}
func (fsyncEach) close() error { return nil }

func (fsyncEach) sync(batch []pendingFile) error {
	var open []*os.File
	for _, p := range batch {
		if p.file != nil {
			open = append(open, p.file)
		}
	}
	return syncFiles(open)
}

// syncFiles fsyncs and closes files, syncParallel at a time. It returns
// the first error, saying how many files failed.
func syncFiles(files []*os.File) error {
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(syncParallel, len(files)) {
		wg.Go(func() {
			for i := range next {
				serr := files[i].Sync()
				cerr := files[i].Close()
				errs[i] = errors.Join(serr, cerr)
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	var first error
	failed := 0
	for _, err := range errs {
		if err != nil {
			if first == nil {
				first = err
			}
			failed++
		}
	}
	if failed > 1 {
		return fmt.Errorf("%w (and %d more files)", first, failed-1)
	}
	return first
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
