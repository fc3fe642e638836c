// Package mbox is the mailferry source that reads mbox files: one file
// (folder "INBOX"), or a directory of them, in the layouts of the mail
// programs that wrote them.
//
// In a directory, every <name>.mbox file is a folder, subdirectories hold
// subfolders ("Archive/2019.mbox" or "Archive/2019" is folder
// "Archive/2019"), and file names are unescaped as formats.MboxFolderPath
// (files with the extension, as older versions of the sink wrote them) or
// formats.MboxDovecotPath (files without, as the sink, Dovecot and mutt
// write them) describe, so what the mbox sink wrote comes back under the
// same names. The layouts of other programs are found too, each described
// in its own file: Thunderbird's and Evolution's extension-less files with
// "<name>.sbd" subfolder directories (layout_thunderbird.go,
// layout_evolution.go), Apple Mail's "<name>.mbox/" export bundles
// (layout_applemail.go), KMail's ".<name>.directory" subfolders
// (layout_kmail.go), and a Google Takeout file, which becomes a folder per
// Gmail label (takeout.go). A top-level inbox file (INBOX.mbox, or Inbox as
// Thunderbird names it) is "INBOX". Indexes, hidden files and mailferry's
// state files are skipped.
//
// A directory is read through an os.Root (see internal/localstore): a
// symbolic link is followed only to a file inside the directory; one that
// leads out of it, loops or dangles, and a link to a directory, are skipped
// with a warning naming them.
//
// The reader is formats.MboxReader: mailferry's own files give back every
// message with its flags and arrival date, byte for byte but for what an
// mbox file cannot keep (formats.MboxWriter); foreign mboxrd, mboxo,
// mboxcl2, Thunderbird, Evolution and mutt/Pine/Dovecot files are read with
// their flag headers turned into flags and their bookkeeping headers
// removed. Messages Thunderbird deleted but did not compact away, and the
// folder-data pseudo-message of UW-IMAP and Pine, are not mail: they are
// not listed, and the deleted ones are counted in a warning. Message.ID is
// a content hash (the first 128 bits of the SHA-256 of the message, in
// hex), with "#2", "#3"… for further identical copies in one folder; a
// message changes identity only if its bytes change. List scans a file
// once, keeping only offsets; Fetch seeks to them and checks the hash
// again, so a file changed in between yields a per-message error instead
// of a wrong message.
//
// An archive the mbox sink writes is read only as far as the sink had
// committed each file (its record in the archive's meta directory, see
// internal/mboxmeta): the end of a file a run was killed appending to (or
// is appending to now) is not mail yet, and reading it as mail would give
// a message cut short that looks complete. The user is told which file was
// read short, and by how much.
package mbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/localstore"
	"github.com/mailferry/mailferry/internal/mboxmeta"
	"github.com/mailferry/mailferry/internal/plural"
	"github.com/mailferry/mailferry/transfer"
)

// Options configure a Source.
type Options struct {
	// Warn receives things the user should know that do not fail the run.
	// Nil discards them.
	Warn func(string)
	// DedupeAcrossFolders lists a message of a Google Takeout file only in
	// the first of its label folders (see formats.GmailPlacement) instead
	// of in every one.
	DedupeAcrossFolders bool
}

// Source reads messages from mbox files.
type Source struct {
	root   string
	single bool
	fsroot *os.Root // a directory's files are opened through it; nil for a single file
	warn   func(string)
	dedupe bool

	mu      sync.Mutex
	files   map[string]folderFile       // folder → where its messages are
	listed  map[string]map[string]entry // folder → ID → where it is
	warned  map[string]bool             // folders whose skipped messages were reported
	scanned bool

	records map[string]*mboxmeta.Record // the sink's committed records, by file; nil until read
	cut     map[string]bool             // files whose uncommitted end was reported
}

// entry is where List found a message.
type entry struct {
	offset, length int64
	size           int64
	sum            []byte
	incomplete     bool
}

var (
	_ transfer.Source   = (*Source)(nil)
	_ transfer.Fetchers = (*Source)(nil)
)

// Open opens the mbox file or directory at path. A file must be an mbox
// file (or empty); a directory must be readable.
func Open(path string, opts Options) (*Source, error) {
	s := &Source{root: filepath.Clean(path), warn: opts.Warn, dedupe: opts.DedupeAcrossFolders,
		listed: map[string]map[string]entry{}, warned: map[string]bool{}, cut: map[string]bool{}}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, transfer.FatalError(fmt.Errorf("mbox %s: %w", path, err))
	}
	switch {
	case fi.IsDir():
		if _, err := os.ReadDir(path); err != nil {
			return nil, transfer.FatalError(fmt.Errorf("mbox %s: %w", path, err))
		}
		if s.fsroot, err = os.OpenRoot(path); err != nil {
			return nil, transfer.FatalError(fmt.Errorf("mbox %s: %w", path, err))
		}
	case fi.Mode().IsRegular():
		s.single = true
		if err := checkMbox(path); err != nil {
			return nil, err
		}
	default:
		return nil, transfer.FatalError(fmt.Errorf("mbox %s: neither a directory nor a regular file", path))
	}
	return s, nil
}

// checkMbox opens path and reads its first message.
func checkMbox(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return transfer.FatalError(fmt.Errorf("mbox %s: %w", path, err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return transfer.FatalError(fmt.Errorf("mbox %s: %w", path, err))
	}
	if fi.IsDir() {
		return transfer.FatalError(fmt.Errorf("mbox %s: is a directory, expected an mbox file", path))
	}
	if _, err := formats.NewMboxReader(f, fi.Size()).Next(); err != nil && err != io.EOF {
		return transfer.FatalError(fmt.Errorf("mbox %s: %w", path, err))
	}
	return nil
}

// MaxFetchers allows a few Fetch calls at once; each reads with its own
// file handle.
func (s *Source) MaxFetchers() int { return 4 }

// Close releases what List remembered. No file stays open between calls.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listed = map[string]map[string]entry{}
	if s.fsroot != nil {
		return s.fsroot.Close()
	}
	return nil
}

// Folders lists the folders: "INBOX" for a single file, every mbox file of
// a directory otherwise, and the label folders of a Takeout file (with
// their counts, known from its scan).
func (s *Source) Folders(ctx context.Context) ([]transfer.Folder, error) {
	files, err := s.scan(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]transfer.Folder, 0, len(names))
	for _, name := range names {
		f := transfer.Folder{Name: name, Role: formats.RoleByName(name), Messages: -1, Bytes: -1}
		if tf := files[name].takeout; tf != nil {
			lf, _ := tf.folder(name)
			f.Role, f.Messages, f.Bytes = lf.Role, lf.messages, lf.bytes
		}
		out = append(out, f)
	}
	return out, nil
}

// scan finds the folders (once per Source).
func (s *Source) scan(ctx context.Context) (map[string]folderFile, error) {
	s.mu.Lock()
	if s.scanned {
		files := s.files
		s.mu.Unlock()
		return files, nil
	}
	s.mu.Unlock()
	var files map[string]folderFile
	var err error
	if s.single {
		files, err = discoverFile(ctx, s.root, s.dedupe, s.openFile)
	} else {
		files, err = discover(ctx, s.root, s.dedupe, s.linkToFile, s.openFile)
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.files, s.scanned = files, true
	s.mu.Unlock()
	return files, nil
}

// dovecotLayout reports whether the directory is a mailferry archive in
// the layout Dovecot serves, as its meta directory records (see sink/mbox).
func dovecotLayout(root string) bool {
	data, err := os.ReadFile(filepath.Join(mboxmeta.Dir(root, false), mboxmeta.LayoutFile))
	return err == nil && strings.TrimSpace(string(data)) == mboxmeta.LayoutDovecot
}

// committedSize is how much of the file p (open as f, of size bytes) is
// mail: all of it, unless the mbox sink's record says a run appended to it
// and was killed (or is still running) before it committed the end. Those
// bytes were never journaled, so the sink cuts them off and copies their
// messages again when it next opens the file; read as mail, they would be
// a message cut short that looks complete (nothing frames it). The first
// time a file is cut short, the user is told.
func (s *Source) committedSize(p string, f *os.File, size int64) (int64, error) {
	s.mu.Lock()
	if s.records == nil {
		t, err := mboxmeta.ReadTable(mboxmeta.Dir(s.root, s.single))
		if err != nil {
			s.mu.Unlock()
			return 0, transfer.FatalError(fmt.Errorf("mbox %s: %w", s.root, err))
		}
		s.records = t.Files
	}
	key := filepath.Base(p)
	if !s.single {
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			s.mu.Unlock()
			return size, nil
		}
		key = filepath.ToSlash(rel)
	}
	rec := s.records[key]
	s.mu.Unlock()
	if rec == nil {
		return size, nil
	}
	torn, err := rec.Uncommitted(f, size)
	if err != nil {
		return 0, transfer.FatalError(fmt.Errorf("mbox %s: %w", p, err))
	}
	if !torn {
		return size, nil
	}
	s.mu.Lock()
	report := !s.cut[p]
	s.cut[p] = true
	s.mu.Unlock()
	if report && s.warn != nil {
		s.warn(fmt.Sprintf("mbox %s: read only up to byte %d, as far as the run that wrote it had committed it; the %d bytes after that "+
			"were written by a run that was interrupted (or is still running) and are not mail yet: the next copy into this archive "+
			"cuts them off and copies their messages again", p, rec.Size, size-rec.Size))
	}
	return rec.Size, nil
}

// fileOf returns where the messages of folder are.
func (s *Source) fileOf(ctx context.Context, folder string) (folderFile, error) {
	files, err := s.scan(ctx)
	if err != nil {
		return folderFile{}, err
	}
	ff, ok := files[folder]
	if !ok {
		return folderFile{}, transfer.PerMessageError(fmt.Errorf("mbox %s: no folder %q", s.root, folder))
	}
	return ff, nil
}

// linkToFile reports whether the symbolic link at p leads to a file inside
// the directory, warning about it when it does not: a link out of the
// store could make mailferry read any file, and links to directories are
// not followed, so the walk cannot loop.
func (s *Source) linkToFile(p string) bool {
	rel, err := filepath.Rel(s.root, p)
	if err != nil {
		return false
	}
	info, err := localstore.Stat(s.fsroot, rel)
	switch {
	case localstore.IsLink(err):
		s.warnf("skipping %v", err)
		return false
	case err != nil:
		s.warnf("skipping %s: %v", p, err)
		return false
	case info.IsDir():
		s.warnf("skipping %s: a symbolic link to a directory; not followed", p)
		return false
	}
	return true
}

func (s *Source) warnf(format string, args ...any) {
	if s.warn != nil {
		s.warn(fmt.Sprintf("mbox %s: ", s.root) + fmt.Sprintf(format, args...))
	}
}

// openFile opens a folder's file for reading; in a directory, through the
// os.Root, so a file swapped for a link since the scan is not read either.
func (s *Source) openFile(p string) (*os.File, int64, error) {
	var f *os.File
	var err error
	if s.fsroot == nil {
		f, err = os.Open(p)
	} else {
		var rel string
		if rel, err = filepath.Rel(s.root, p); err == nil {
			f, err = localstore.Open(s.fsroot, rel)
		}
	}
	if err != nil {
		return nil, 0, transfer.FatalError(fmt.Errorf("mbox %s: %w", p, err))
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		err = errors.New("is a directory, expected an mbox file")
	}
	if err != nil {
		f.Close()
		return nil, 0, transfer.FatalError(fmt.Errorf("mbox %s: %w", p, err))
	}
	return f, fi.Size(), nil
}

// List scans the folder's file and returns its messages. Memory holds the
// offsets and hashes only, whatever the size of the file.
func (s *Source) List(ctx context.Context, folder string) ([]transfer.Message, error) {
	ff, err := s.fileOf(ctx, folder)
	if err != nil {
		return nil, err
	}
	var (
		msgs []transfer.Message
		idx  map[string]entry
	)
	if ff.takeout != nil {
		msgs, idx = ff.takeout.list(folder)
	} else if msgs, idx, err = s.listFile(ctx, folder, ff.path); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.listed[folder] = idx
	s.mu.Unlock()
	return msgs, nil
}

// listFile lists the messages of a plain mbox file, leaving out what is not
// mail: messages Thunderbird deleted, which are counted in a warning, and
// the folder-data pseudo-message.
func (s *Source) listFile(ctx context.Context, folder, p string) ([]transfer.Message, map[string]entry, error) {
	f, size, err := s.openFile(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if size, err = s.committedSize(p, f, size); err != nil {
		return nil, nil, err
	}
	r := newReader(f, size, false)
	idx := map[string]entry{}
	ids := idMaker{}
	var msgs []transfer.Message
	expunged := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, transfer.FatalError(fmt.Errorf("mbox %s: %w", p, err))
		}
		if m.Pseudo {
			continue
		}
		if m.Expunged {
			expunged++
			continue
		}
		e, err := hashed(p, m)
		if err != nil {
			return nil, nil, err
		}
		id := ids.id(e)
		idx[id] = e
		msgs = append(msgs, transfer.Message{Folder: folder, ID: id, Flags: m.Flags, Date: m.Date, Size: e.size})
	}
	s.mu.Lock()
	report := expunged > 0 && !s.warned[folder] && s.warn != nil
	s.warned[folder] = true
	s.mu.Unlock()
	if report {
		s.warn(fmt.Sprintf("mbox %s: folder %q: skipped %s that Thunderbird deleted but had not compacted away yet (Expunged in X-Mozilla-Status)", p, folder, plural.Count(expunged, "message")))
	}
	return msgs, idx, nil
}

// hashed is the entry of a message read from file p: where it is, its
// size and the SHA-256 of its body; an incomplete message has no hash.
func hashed(p string, m *formats.MboxMessage) (entry, error) {
	e := entry{offset: m.Offset, length: m.Length, incomplete: m.Incomplete}
	if m.Incomplete {
		e.size = m.Length
		return e, nil
	}
	h := sha256.New()
	n, err := io.Copy(h, m.Body())
	if err != nil {
		return e, transfer.FatalError(fmt.Errorf("mbox %s: reading the message at byte %d: %w", p, m.Offset, err))
	}
	e.size, e.sum = n, h.Sum(nil)
	return e, nil
}

// idMaker gives the messages of one folder their IDs, in file order: the
// first 128 bits of the content hash in hex, with "#2", "#3"… for further
// identical copies, and "incomplete@OFFSET" for a torn message.
type idMaker struct{ copies map[string]int }

func (ids *idMaker) id(e entry) string {
	if e.incomplete {
		return "incomplete@" + strconv.FormatInt(e.offset, 10)
	}
	if ids.copies == nil {
		ids.copies = map[string]int{}
	}
	id := hex.EncodeToString(e.sum[:16])
	ids.copies[id]++
	if c := ids.copies[id]; c > 1 {
		id += "#" + strconv.Itoa(c)
	}
	return id
}

// errChanged is the per-message error for a message whose bytes are not
// what List saw.
var errChanged = errors.New("mbox changed since it was listed (the message is not where it was, or not the same); run again")

// Fetch reads msgs in file order and passes each to fn exactly as the
// reader gives it back. A message whose bytes changed since List is
// reported as a PerMessage *transfer.MessageError (the reader fails at its
// end, before fn can take it for complete), and Fetch goes on with the
// others; so is an incomplete message at the end of a file. An error fn
// returns for another reason stops Fetch and is returned.
func (s *Source) Fetch(ctx context.Context, folder string, msgs []transfer.Message, fn func(transfer.Message, io.Reader) error) error {
	s.mu.Lock()
	idx, ok := s.listed[folder]
	s.mu.Unlock()
	if !ok {
		if _, err := s.List(ctx, folder); err != nil {
			return err
		}
		s.mu.Lock()
		idx = s.listed[folder]
		s.mu.Unlock()
	}
	ff, err := s.fileOf(ctx, folder)
	if err != nil {
		return err
	}
	p := ff.path
	f, size, err := s.openFile(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if ff.takeout == nil {
		if size, err = s.committedSize(p, f, size); err != nil {
			return err
		}
	}

	order := append([]transfer.Message(nil), msgs...)
	sort.SliceStable(order, func(i, j int) bool { return idx[order[i].ID].offset < idx[order[j].ID].offset })
	var perMsg []error
	fail := func(id string, err error) {
		perMsg = append(perMsg, transfer.PerMessageError(&transfer.MessageError{Folder: folder, ID: id, Err: fmt.Errorf("mbox %s: %w", p, err)}))
	}
	r := newReader(f, size, ff.takeout != nil)
	for _, want := range order {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, ok := idx[want.ID]
		switch {
		case !ok:
			fail(want.ID, errors.New("not found in the folder (was it listed?)"))
			continue
		case e.incomplete:
			fail(want.ID, fmt.Errorf("the file ends inside the message at byte %d (an interrupted write?); it is incomplete and was not copied", e.offset))
			continue
		}
		r.SeekMessage(e.offset)
		m, err := r.Next()
		if err != nil || m.Length != e.length || m.Incomplete {
			if err != nil && err != io.EOF && !errors.Is(err, formats.ErrNotMbox) {
				return transfer.FatalError(fmt.Errorf("mbox %s: %w", p, err))
			}
			fail(want.ID, errChanged)
			continue
		}
		vr := &verifyReader{r: m.Body(), h: sha256.New(), want: e.sum, size: e.size}
		flags := m.Flags
		if ff.takeout != nil {
			flags = takeoutFlags(m)
		}
		msg := transfer.Message{Folder: folder, ID: want.ID, Flags: flags, Date: m.Date, Size: e.size}
		if err := fn(msg, vr); err != nil {
			if vr.failed != nil && errors.Is(err, vr.failed) {
				fail(want.ID, vr.failed)
				continue
			}
			return err
		}
	}
	return errors.Join(perMsg...)
}

// verifyReader passes a message through and, at its end, checks it
// against List's hash and size: on a mismatch the end is an error, not
// io.EOF, so nobody takes the bytes for the listed message.
type verifyReader struct {
	r      io.Reader
	h      hash.Hash
	want   []byte
	size   int64
	n      int64
	failed error
}

func (v *verifyReader) Read(p []byte) (int, error) {
	if v.failed != nil {
		return 0, v.failed
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.h.Write(p[:n])
	if v.n > v.size {
		v.failed = errChanged
		return n, v.failed
	}
	if err == io.EOF && (v.n != v.size || !bytes.Equal(v.h.Sum(nil), v.want)) {
		v.failed = errChanged
		return n, v.failed
	}
	if err != nil && err != io.EOF {
		v.failed = fmt.Errorf("reading: %w", err)
		return n, v.failed
	}
	return n, err
}
