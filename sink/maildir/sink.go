// Package maildir writes mail into a Dovecot-compatible Maildir, so Dovecot
// can serve a backup as it is.
//
// The inbox is the root directory; other folders are Maildir++ ".Name"
// directories (or nested directories in the fs layout), named as Dovecot's
// listescape plugin and modified UTF-7 name them (see
// formats.MaildirFolderPath). A message is written into tmp/ with its
// INTERNALDATE as mtime; keywords get letters through the folder's
// dovecot-keywords file. The sink is a transfer.Flusher: Flush makes the
// batch's files durable, then renames each into cur/ under a Dovecot-style
// name carrying its size, its wire size and its flags, then makes the new
// entries durable (each step one syncfs per file system on Linux, an fsync
// of each file and of each cur/ elsewhere). After Flush every
// message Put returned for survives a crash (transfer.Run journals a
// message only after that Flush), and as a file reaches cur/ only once its
// data is durable, no partial message is ever visible in cur/ or new/,
// even after a crash.
package maildir

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// StateFile is the name of mailferry's journal inside a Maildir root.
const StateFile = "mailferry.state"

// Options configure a Sink.
type Options struct {
	// Layout is the folder layout: "" or "maildir++" for Maildir++ (the
	// Dovecot default), "fs" for nested directories.
	Layout string
	// Warn receives notes about things stored with a loss (a keyword
	// dropped because a folder has no letter left for it). Nil discards
	// them. Calls are serialised.
	Warn func(string)
}

// Sink writes messages into a Maildir. It is safe for concurrent use.
type Sink struct {
	root string
	opts Options
	host string
	pid  int

	now     func() time.Time // the clock tmp/ clean-up judges ages by
	counter atomic.Uint64
	warnMu  sync.Mutex

	mu      sync.Mutex
	folders map[string]*folder // by path relative to root

	subMu sync.Mutex // held while the subscriptions file is replaced

	flushMu     sync.Mutex // held by Flush
	syncMu      sync.Mutex // guards pending, openPending, broken
	pending     []pendingFile
	openPending int   // files of pending left open
	broken      error // set by a failed Flush, for good
	syncer      dataSyncer
}

var (
	_ transfer.Sink         = (*Sink)(nil)
	_ transfer.Indexer      = (*Sink)(nil)
	_ transfer.StateLocator = (*Sink)(nil)
	_ transfer.RoleResolver = (*Sink)(nil)
	_ transfer.Flusher      = (*Sink)(nil)
)

// New opens the Maildir at path for writing, creating it (with tmp/, new/
// and cur/) when it does not exist. It fails with a Fatal error when path is
// not a directory, is a non-empty directory that is not a Maildir, or cannot
// be written.
func New(path string, opts Options) (*Sink, error) {
	if err := formats.CheckMaildirLayout(opts.Layout); err != nil {
		return nil, transfer.FatalError(fmt.Errorf("maildir %s: %w", path, err))
	}
	if path == "" {
		return nil, transfer.FatalError(errors.New("maildir: empty path"))
	}
	root, err := filepath.Abs(path)
	if err != nil {
		return nil, transfer.FatalError(fmt.Errorf("maildir %s: %w", path, err))
	}
	if err := checkRoot(root); err != nil {
		return nil, transfer.FatalError(err)
	}
	if err := makeMaildir(root, false); err != nil {
		return nil, transfer.FatalError(fmt.Errorf("maildir %s: %w", root, err))
	}
	if err := probeWritable(filepath.Join(root, "tmp")); err != nil {
		return nil, transfer.FatalError(fmt.Errorf("maildir %s is not writable: %w", root, err))
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return &Sink{
		root:    root,
		opts:    opts,
		host:    host,
		pid:     os.Getpid(),
		now:     time.Now,
		folders: make(map[string]*folder),
		syncer:  newDataSyncer(),
	}, nil
}

// checkRoot refuses a path that is a file, or a non-empty directory that
// holds no Maildir, so a mistyped path does not turn a home directory or an
// mbox archive into a Maildir.
func checkRoot(root string) error {
	st, err := os.Stat(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("maildir %s: %w", root, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("maildir %s exists and is not a directory", root)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("maildir %s: %w", root, err)
	}
	foreign := false
	for _, e := range entries {
		switch n := e.Name(); {
		case n == "cur" || n == "new" || n == "tmp":
			return nil
		case strings.HasPrefix(n, ".") && e.IsDir() && isDir(filepath.Join(root, n, "cur")):
			return nil
		case n != LockFile && n != StateFile:
			// mailferry's own files (what an earlier run left) do not
			// make a directory foreign.
			foreign = true
		}
	}
	if !foreign {
		return nil
	}
	return fmt.Errorf("maildir %s exists, is not empty and is not a Maildir (no cur/, new/ or tmp/); give a new or empty directory or an existing Maildir", root)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// probeWritable creates and removes a file in dir, so a read-only archive
// is reported before any message is fetched.
func probeWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".mailferry-probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	cerr := f.Close()
	rerr := os.Remove(name)
	return errors.Join(cerr, rerr)
}

// Put stores m in its folder, creating the folder when needed. See the
// package doc for the steps that make it durable and atomic.
func (s *Sink) Put(ctx context.Context, m transfer.Message, body transfer.Body) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := s.folder(m.Folder, true)
	if err != nil {
		return err
	}
	letters, err := s.flagLetters(f, m)
	if err != nil {
		return err
	}
	// The body streams from the run's spool into the new file: a Maildir
	// needs neither its size nor a second read up front.
	return s.deliver(ctx, f, m, transfer.BodyReader(body), letters)
}

// flagLetters returns the ":2," letters for m's flags. $Forwarded is 'P'
// only: Dovecot, mutt and the Maildir specification read 'P' as forwarded
// (passed), and a keyword letter for it as well would spend one of the
// folder's 26 letters on a flag that already has one. Keywords that are not
// valid IMAP atoms, or for which the folder has no letter left, are dropped
// with a warning.
func (s *Sink) flagLetters(f *folder, m transfer.Message) ([]byte, error) {
	letters, keywords := formats.MaildirFlagLetters(m.Flags)
	var valid []string
	for _, k := range keywords {
		if !formats.ValidKeyword(k) {
			s.warn(fmt.Sprintf("maildir %s: folder %q, message %s: flag %q dropped: not a valid IMAP keyword", s.root, m.Folder, m.ID, k))
			continue
		}
		valid = append(valid, k)
	}
	if len(valid) == 0 {
		return letters, nil
	}
	kwLetters, dropped, err := f.keywordLetters(valid)
	if err != nil {
		return nil, transfer.FatalError(fmt.Errorf("maildir %s: folder %q: %w", s.root, m.Folder, err))
	}
	for _, k := range dropped {
		s.warn(fmt.Sprintf("maildir %s: folder %q, message %s: keyword %q dropped: the folder already has %d keywords, the Maildir limit",
			s.root, m.Folder, m.ID, k, formats.MaxMaildirKeywords))
	}
	return append(letters, kwLetters...), nil
}

func (s *Sink) warn(msg string) {
	if s.opts.Warn == nil {
		return
	}
	s.warnMu.Lock()
	defer s.warnMu.Unlock()
	s.opts.Warn(msg)
}

// newUnique returns a fresh unique name for a message delivered now.
func (s *Sink) newUnique(now time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return formats.MaildirUnique{
		Time:    now,
		PID:     s.pid,
		Counter: s.counter.Add(1),
		Random:  binary.BigEndian.Uint64(b[:]),
		Host:    s.host,
	}.String()
}

// DefaultStatePath is <root>/mailferry.state, next to Dovecot's own files.
func (s *Sink) DefaultStatePath() string { return filepath.Join(s.root, StateFile) }

// Root returns the absolute path of the Maildir.
func (s *Sink) Root() string { return s.root }

// Close flushes the sink: every Put that returned nil is durable then.
func (s *Sink) Close() error {
	err := s.Flush(context.Background())
	return errors.Join(err, s.syncer.close())
}

// LockFile is the name of the lock a run holds at a Maildir root.
const LockFile = "mailferry.lock"

// LockPath is <root>/mailferry.lock: the lock a copy takes on the whole
// Maildir, whatever state file it uses, so two runs into it cannot both
// decide a message is missing and store it twice. Dovecot ignores the file.
func (s *Sink) LockPath() string { return filepath.Join(s.root, LockFile) }
