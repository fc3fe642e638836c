package mbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/mboxmeta"
	"github.com/mailferry/mailferry/transfer"
)

// Options configure a Sink.
type Options struct {
	// Warn receives things the user should know that do not fail the run:
	// a repaired torn tail, flags an mbox file cannot keep. Nil discards.
	Warn func(string)
	// ReadOnly is for a dry run: the sink answers what the archive holds
	// (Index, Digests, MessageCount) and writes nothing, not even its
	// records or the repair of a torn tail (the bytes past the last
	// commit are left as they are, and not read as mail). Put fails.
	ReadOnly bool
}

// Sink writes messages into mbox files.
type Sink struct {
	root   string // the file, or the directory of folder files
	single bool
	legacy bool // a directory in the layout of old archives: <folder>.mbox files
	warn   func(string)
	meta   *meta
	// readOnly: see Options.ReadOnly.
	readOnly bool

	mu      sync.Mutex
	files   map[string]*mboxFile // by path
	folders map[string]string    // folder → path, once resolved
	layout  bool                 // the layout is recorded
	closed  bool
}

var (
	_ transfer.Sink           = (*Sink)(nil)
	_ transfer.Flusher        = (*Sink)(nil)
	_ transfer.Indexer        = (*Sink)(nil)
	_ transfer.StateLocator   = (*Sink)(nil)
	_ transfer.MessageCounter = (*Sink)(nil)
)

// New opens the mbox archive at path. A path that is an existing directory,
// or does not exist and does not end in ".mbox", is a directory of folder
// files (created if needed). An existing regular file, or a path ending in
// ".mbox", is one file that receives every message whatever its folder. A
// single file is opened, locked and repaired at once; the files of a
// directory when they are first used.
//
// A directory is written in the layout Dovecot's mbox driver serves (see
// formats.MboxDovecotPath), unless it is an archive of an older version,
// with <folder>.mbox files or a mailferry.state at the top: that one keeps
// its layout, so incremental runs go on adding to the same files.
func New(path string, opts Options) (*Sink, error) {
	s := &Sink{root: filepath.Clean(path), warn: opts.Warn, readOnly: opts.ReadOnly, files: map[string]*mboxFile{}, folders: map[string]string{}}
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
	case err == nil && fi.Mode().IsRegular():
		s.single = true
	case err == nil:
		return nil, transfer.FatalError(fmt.Errorf("mbox %s: neither a directory nor a regular file", path))
	case errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(path, formats.MboxExt):
		s.single = true
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(path, 0o700); err != nil {
			return nil, transfer.FatalError(fmt.Errorf("mbox %s: creating directory: %w", path, err))
		}
	default:
		return nil, transfer.FatalError(fmt.Errorf("mbox %s: %w", path, err))
	}
	s.meta = newMeta(mboxmeta.Dir(s.root, s.single))
	s.meta.readOnly = s.readOnly
	if !s.single {
		legacy, err := s.detectLayout()
		if err != nil {
			return nil, transfer.FatalError(fmt.Errorf("mbox %s: %w", path, err))
		}
		s.legacy = legacy
	}
	if s.single {
		mf := s.fileFor(s.root)
		mf.mu.Lock()
		err := mf.open(context.Background(), true, s.warn)
		mf.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// detectLayout reads the directory's recorded layout, or works it out: an
// archive of an older version has <folder>.mbox files or mailferry.state at
// the top; anything else (new, empty, another program's mbox directory)
// gets the Dovecot layout. It records the answer when the meta directory
// already exists; otherwise the first write does (see Put).
func (s *Sink) detectLayout() (legacy bool, err error) {
	data, err := os.ReadFile(filepath.Join(s.meta.dir, mboxmeta.LayoutFile))
	if err == nil {
		return strings.TrimSpace(string(data)) == mboxmeta.LayoutLegacy, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if n := e.Name(); n == "mailferry.state" || (strings.HasSuffix(n, formats.MboxExt) && e.Type().IsRegular()) {
			return true, nil
		}
	}
	return false, nil
}

// writeLayout records the layout in the meta directory, once.
func (s *Sink) writeLayout() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.layout {
		return nil
	}
	p := filepath.Join(s.meta.dir, mboxmeta.LayoutFile)
	if _, err := os.Stat(p); err == nil {
		s.layout = true
		return nil
	}
	s.meta.mu.Lock()
	err := s.meta.ensureDir()
	s.meta.mu.Unlock()
	if err != nil {
		return err
	}
	l := mboxmeta.LayoutDovecot
	if s.legacy {
		l = mboxmeta.LayoutLegacy
	}
	if err := writeAtomic(p, []byte(l+"\n")); err != nil {
		return err
	}
	s.layout = true
	return nil
}

// pathOf returns the file that holds folder. In the Dovecot layout a
// folder's file and its subfolders' directory would have the same name;
// when one exists already, the other takes Thunderbird's names: the
// subfolders go into "<name>.sbd/", or the folder's messages into
// "<name>.mbox" (the source maps both back; Dovecot shows them with the
// suffix). Once resolved, a folder keeps its path for the life of the sink.
func (s *Sink) pathOf(folder string) (string, error) {
	if s.single {
		return s.root, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.folders[folder]; ok {
		return p, nil
	}
	var rel string
	var err error
	if s.legacy {
		rel, err = formats.MboxFolderPath(folder)
	} else {
		rel, err = s.dovecotPath(folder)
	}
	if err != nil {
		return "", err
	}
	p := filepath.Join(s.root, filepath.FromSlash(rel))
	s.folders[folder] = p
	return p, nil
}

// dovecotPath resolves folder in the Dovecot layout against what exists.
// Called with s.mu held, so two folders resolving at once see each other.
func (s *Sink) dovecotPath(folder string) (string, error) {
	rel, err := formats.MboxDovecotPath(folder)
	if err != nil {
		return "", err
	}
	if strings.EqualFold(folder, "INBOX") {
		return "INBOX", nil
	}
	levels := strings.Split(rel, "/")
	dir := s.root
	for i, l := range levels {
		last := i == len(levels)-1
		if !last {
			switch {
			case isDir(filepath.Join(dir, l+".sbd")), s.claimed(filepath.Join(dir, l+".sbd")):
				l += ".sbd"
			case isDir(filepath.Join(dir, l)), s.claimed(filepath.Join(dir, l)):
			case exists(filepath.Join(dir, l)), s.claimedFile(filepath.Join(dir, l)):
				l += ".sbd"
			}
		} else {
			switch {
			case exists(filepath.Join(dir, l+formats.MboxExt)):
				l += formats.MboxExt
			case isDir(filepath.Join(dir, l)), s.claimed(filepath.Join(dir, l)):
				l += formats.MboxExt
			}
		}
		levels[i] = l
		dir = filepath.Join(dir, l)
	}
	return strings.Join(levels, "/"), nil
}

// claimed reports whether a folder resolved earlier uses dir as a
// directory; claimedFile whether one uses path as its file.
func (s *Sink) claimed(dir string) bool {
	for _, p := range s.folders {
		if strings.HasPrefix(p, dir+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func (s *Sink) claimedFile(path string) bool {
	for _, p := range s.folders {
		if p == path {
			return true
		}
	}
	return false
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// fileFor returns the entry for path, creating it unopened.
func (s *Sink) fileFor(path string) *mboxFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	mf, ok := s.files[path]
	if !ok {
		rel := filepath.Base(path)
		if !s.single {
			if r, err := filepath.Rel(s.root, path); err == nil {
				rel = filepath.ToSlash(r)
			}
		}
		mf = &mboxFile{path: path, rel: rel, meta: s.meta, readOnly: s.readOnly}
		mf.synced = sync.NewCond(&mf.mu)
		s.files[path] = mf
	}
	return mf
}

func (s *Sink) warnf(format string, args ...any) {
	if s.warn != nil {
		s.warn(fmt.Sprintf(format, args...))
	}
}

// Put appends m to its folder's file. It is safe for concurrent use; Puts
// into one file are serialized, Puts into different files are not. The
// message is durable only after the next successful Flush (or Close).
// Flags an mbox cannot keep (keywords with spaces, unknown system flags)
// are left out with a warning.
func (s *Sink) Put(ctx context.Context, m transfer.Message, body transfer.Body) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return transfer.FatalError(fmt.Errorf("mbox %s: sink is closed", s.root))
	}
	if s.readOnly {
		return transfer.FatalError(fmt.Errorf("mbox %s: opened read-only (a dry run): nothing may be written", s.root))
	}
	path, err := s.pathOf(m.Folder)
	if err != nil {
		return transfer.PerMessageError(&transfer.MessageError{Folder: m.Folder, ID: m.ID, Err: err})
	}
	flags, drop := formats.SplitMboxFlags(m.Flags)
	if len(drop) > 0 {
		s.warnf("mbox %s: message %s of folder %q: flags %q cannot be kept in an mbox file and were left out", path, m.ID, m.Folder, drop)
	}
	if m.Size > 0 && body.Size() != m.Size {
		return transfer.PerMessageError(&transfer.MessageError{Folder: m.Folder, ID: m.ID,
			Err: fmt.Errorf("body has %d bytes, expected %d", body.Size(), m.Size)})
	}
	// The writer needs the length of the local form before the first
	// byte: a body from a server is measured in LF form, then converted
	// again as it is written, from the run's spool.
	if m.CRLF {
		lf, err := newLFBody(body)
		if err != nil {
			return fmt.Errorf("mbox %s: reading message %s of folder %q: %w", path, m.ID, m.Folder, err)
		}
		defer lf.release()
		body = lf
	}
	if !s.single {
		if err := s.writeLayout(); err != nil {
			return transfer.FatalError(fmt.Errorf("mbox %s: %w", s.root, err))
		}
	}
	env := formats.MboxEnvelope{Date: m.Date, Flags: flags}
	// A message of ordinary size is written out in its mbox form before
	// the file is locked, so the Puts into one file convert and quote in
	// parallel and hold the lock only to append the bytes.
	var pre *rendered
	if body.Size() <= lfMemory {
		pre = renderings.Get().(*rendered)
		defer renderings.Put(pre)
		pre.buf.Reset()
		if _, err := formats.NewMboxWriter(&pre.buf).WriteMessage(env, body, body.Size()); err != nil {
			return transfer.PerMessageError(&transfer.MessageError{Folder: m.Folder, ID: m.ID, Err: fmt.Errorf("mbox %s: %w", path, err)})
		}
	}
	mf := s.fileFor(path)
	mf.mu.Lock()
	defer mf.mu.Unlock()
	if err := mf.open(ctx, true, s.warn); err != nil {
		return err
	}
	err = mf.append(env, body, pre, s.warn)
	if err != nil && transfer.ClassOf(err) == transfer.PerMessage {
		return transfer.PerMessageError(&transfer.MessageError{Folder: m.Folder, ID: m.ID, Err: err})
	}
	return err
}

// rendered is a message in its mbox form, as formats.MboxWriter writes it
// anywhere in a file but at its start.
type rendered struct{ buf bytes.Buffer }

// renderings keeps the buffers of rendered messages between Puts.
var renderings = sync.Pool{New: func() any { return new(rendered) }}

// Flush makes every message Put so far durable: it writes the buffers and
// fsyncs each file written since the last Flush and the directories created
// for them.
func (s *Sink) Flush(ctx context.Context) error {
	var errs []error
	for _, mf := range s.snapshot() {
		mf.mu.Lock()
		if mf.f != nil {
			if err := mf.flush(); err != nil {
				errs = append(errs, err)
			}
		}
		mf.mu.Unlock()
	}
	if len(errs) == 0 {
		// The records say what is now durable before the caller
		// journals it.
		if err := s.meta.save(); err != nil {
			errs = append(errs, transfer.FatalError(fmt.Errorf("mbox %s: %w", s.root, err)))
		}
	}
	return errors.Join(errs...)
}

func (s *Sink) snapshot() []*mboxFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*mboxFile, 0, len(s.files))
	for _, mf := range s.files {
		out = append(out, mf)
	}
	return out
}

// Close flushes, releases the locks and closes the files. Put fails after
// Close.
func (s *Sink) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	var errs []error
	for _, mf := range s.snapshot() {
		mf.mu.Lock()
		if err := mf.close(); err != nil {
			errs = append(errs, err)
		}
		mf.mu.Unlock()
	}
	if err := s.meta.save(); err != nil {
		errs = append(errs, transfer.FatalError(fmt.Errorf("mbox %s: %w", s.root, err)))
	}
	return errors.Join(errs...)
}

// Index describes the messages of folder's file, each as the mbox source
// reads it back; refs are their positions in the file. A single-file sink
// holds all folders in one file and answers for it whatever the folder. A
// folder without a file yields an empty index.
func (s *Sink) Index(ctx context.Context, folder string) (transfer.FolderIndex, error) {
	var idx transfer.FolderIndex
	err := s.scan(ctx, folder, func(n int, body io.Reader) error {
		var hc headerCapture
		d := formats.NewDigester()
		if _, err := io.Copy(io.MultiWriter(&hc, d), body); err != nil {
			return err
		}
		idx.Messages = append(idx.Messages, transfer.StoredMessage{
			Ref: strconv.Itoa(n), Key: formats.IdentityKey(hc.buf), VirtualSize: d.VirtualSize(),
		})
		return nil
	})
	if err == nil && len(idx.Messages) > 0 {
		if path, perr := s.pathOf(folder); perr == nil {
			idx.Identity = transfer.PathMailboxIdentity(path)
		}
	}
	return idx, err
}

// Digests returns the content digests of the messages refs name.
func (s *Sink) Digests(ctx context.Context, folder string, refs []string) (map[string]string, error) {
	want := make(map[string]bool, len(refs))
	for _, r := range refs {
		want[r] = true
	}
	out := make(map[string]string, len(refs))
	err := s.scan(ctx, folder, func(n int, body io.Reader) error {
		ref := strconv.Itoa(n)
		if !want[ref] {
			return nil
		}
		d := formats.NewDigester()
		if _, err := io.Copy(d, body); err != nil {
			return err
		}
		out[ref] = d.Sum()
		return nil
	})
	return out, err
}

// MessageCount returns how many complete messages folder's file holds (a
// single-file sink: the file, whatever the folder), 0 when there is no
// file. For a file that is as the sink's record of its last flush says
// (same size, same bytes at its end), that is the record's count, and the
// file is not read; a file the sink does not know, or one another program
// changed since, is read through once, and its count is kept in the
// record the sink writes when it closes.
func (s *Sink) MessageCount(ctx context.Context, folder string) (int, error) {
	var count int64
	err := s.withFile(ctx, folder, func(mf *mboxFile) error {
		if mf.broken != nil {
			return mf.broken
		}
		if mf.count >= 0 {
			count = mf.count
			return nil
		}
		n := 0
		if err := mf.scan(ctx, func(int, io.Reader) error { n++; return nil }); err != nil {
			return err
		}
		count = int64(n)
		if mf.size == mf.flushed {
			// Nothing was appended during the scan's flush: the count is
			// the file's, and its record keeps it.
			mf.count, mf.flushedCount = count, count
			if err := mf.record(mf.flushed, mf.flushedCount, mf.marked); err != nil {
				return transfer.FatalError(fmt.Errorf("mbox %s: %w", mf.path, err))
			}
		}
		return nil
	})
	return int(count), err
}

// scan reads folder's file message by message; a folder without a file has
// no messages.
func (s *Sink) scan(ctx context.Context, folder string, fn func(n int, body io.Reader) error) error {
	return s.withFile(ctx, folder, func(mf *mboxFile) error { return mf.scan(ctx, fn) })
}

// withFile calls fn with folder's file open and its mutex held; a folder
// without a file is not opened (nor created), and fn is not called.
func (s *Sink) withFile(ctx context.Context, folder string, fn func(mf *mboxFile) error) error {
	path, err := s.pathOf(folder)
	if err != nil {
		return transfer.FatalError(fmt.Errorf("mbox %s: folder %q: %w", s.root, folder, err))
	}
	mf := s.fileFor(path)
	mf.mu.Lock()
	defer mf.mu.Unlock()
	if !mf.opened {
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	if err := mf.open(ctx, false, s.warn); err != nil {
		return err
	}
	return fn(mf)
}

// DefaultStatePath is <file>.mailferry.state beside a single file, and
// .mailferry.lock/state inside a directory, where Dovecot does not take it
// for a mailbox; an archive of an older version keeps its mailferry.state.
func (s *Sink) DefaultStatePath() string {
	if s.single {
		return s.root + ".mailferry.state"
	}
	if s.legacy {
		return filepath.Join(s.root, "mailferry.state")
	}
	return filepath.Join(s.meta.dir, mboxmeta.StateFile)
}

// LockPath is where a copy locks the whole archive, whatever state file it
// uses: "lock" in the meta directory (FILE.mailferry.lock/ beside a single
// file, DIR/.mailferry.lock/ in a directory). The per-file flocks keep two
// writers out of one file; this lock keeps two runs from both deciding a
// message is missing.
func (s *Sink) LockPath() string { return filepath.Join(s.meta.dir, mboxmeta.LockFile) }
