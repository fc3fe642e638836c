// Package mbox is the mailferry source that reads mbox files: one file
// (folder "INBOX"), or a directory of them.
//
// In a directory, every <name>.mbox file is a folder, subdirectories hold
// subfolders ("Archive/2019.mbox" or "Archive/2019" is folder
// "Archive/2019"), and file names are unescaped as formats.MboxFolderPath
// (files with the extension, as older versions of the sink wrote them) or
// formats.MboxDovecotPath (files without, as the sink, Dovecot and mutt
// write them) describe, so what the mbox sink wrote comes back under the
// same names. A top-level inbox file (INBOX.mbox,
// or Inbox as Thunderbird names it) is "INBOX". Files without the .mbox
// extension are folders too when they start with a From_ line (Thunderbird
// and mutt folders); Thunderbird's .msf index files, hidden files and
// mailferry's state files are skipped, and Thunderbird's "<name>.sbd"
// subfolder directories hold the subfolders of <name>.
//
// A directory is read through an os.Root (see internal/localstore): a
// symbolic link is followed only to a file inside the directory; one that
// leads out of it, loops or dangles, and a link to a directory, are skipped
// with a warning naming them.
//
// The reader is formats.MboxReader: mailferry's own files give back every
// message with its flags and arrival date, byte for byte but for what an
// mbox file cannot keep (formats.MboxWriter); foreign mboxrd,
// mboxo, mboxcl2, Thunderbird and mutt files are read with their flag
// headers turned into flags. Message.ID is a content hash (the first 128 bits
// of the SHA-256 of the message, in hex), with "#2", "#3"… for further
// identical copies in one folder; a message changes identity only if its
// bytes change. List scans a file once, keeping only offsets; Fetch seeks to
// them and checks the hash again, so a file changed in between yields a
// per-message error instead of a wrong message.
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
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/localstore"
	"github.com/mailferry/mailferry/transfer"
)

// Options configure a Source.
type Options struct {
	// Warn receives things the user should know that do not fail the run.
	// Nil discards them.
	Warn func(string)
}

// Source reads messages from mbox files.
type Source struct {
	root   string
	single bool
	fsroot *os.Root // a directory's files are opened through it; nil for a single file
	warn   func(string)

	mu      sync.Mutex
	files   map[string]string           // folder → file
	listed  map[string]map[string]entry // folder → ID → where it is
	scanned bool
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
	s := &Source{root: filepath.Clean(path), warn: opts.Warn, listed: map[string]map[string]entry{}}
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
		s.files = map[string]string{"INBOX": s.root}
		s.scanned = true
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
// a directory otherwise.
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
		out = append(out, transfer.Folder{Name: name, Role: guessRole(name), Messages: -1, Bytes: -1})
	}
	return out, nil
}

// scan walks the directory (once per Source; a single file needs none).
func (s *Source) scan(ctx context.Context) (map[string]string, error) {
	s.mu.Lock()
	if s.scanned {
		files := s.files
		s.mu.Unlock()
		return files, nil
	}
	s.mu.Unlock()
	files := map[string]string{}
	dovecot := dovecotLayout(s.root)
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return transfer.FatalError(fmt.Errorf("mbox %s: %w", p, err))
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == s.root {
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 && !s.linkToFile(p) {
			return nil
		}
		if !folderFile(p, d) {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return transfer.FatalError(fmt.Errorf("mbox %s: %w", p, err))
		}
		folder := folderName(filepath.ToSlash(rel), dovecot)
		if other, dup := files[folder]; dup {
			return transfer.FatalError(fmt.Errorf("mbox %s: %s and %s both hold folder %q; rename one of them", s.root, other, p, folder))
		}
		files[folder] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.files, s.scanned = files, true
	s.mu.Unlock()
	return files, nil
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

// folderFile reports whether a directory entry is a folder's mbox file.
func folderFile(p string, d fs.DirEntry) bool {
	name := d.Name()
	info, err := os.Stat(p) // follows a symbolic link to the file
	if err != nil || !info.Mode().IsRegular() {
		return false
	}
	switch {
	case strings.HasSuffix(name, formats.MboxExt):
		return true
	case strings.HasSuffix(name, ".msf"), strings.HasSuffix(name, ".lock"),
		name == "mailferry.state", strings.HasSuffix(name, ".mailferry.state"):
		return false
	}
	if info.Size() == 0 {
		// An empty Thunderbird folder: the file and its index.
		_, err := os.Stat(p + ".msf")
		return err == nil
	}
	return startsWithFromLine(p)
}

// startsWithFromLine reports whether the file's first non-blank line is a
// From_ line.
func startsWithFromLine(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 4096)
	n, _ := io.ReadFull(f, buf)
	buf = buf[:n]
	for len(buf) > 0 && (buf[0] == '\n' || buf[0] == '\r') {
		buf = buf[1:]
	}
	line, _, _ := strings.Cut(string(buf), "\n")
	_, _, ok := formats.ParseMboxFromLine([]byte(line))
	return ok
}

// dovecotLayout reports whether the directory is a mailferry archive in
// the layout Dovecot serves, as its meta directory records (see sink/mbox).
func dovecotLayout(root string) bool {
	data, err := os.ReadFile(filepath.Join(root, ".mailferry.lock", "layout"))
	return err == nil && strings.TrimSpace(string(data)) == "dovecot"
}

// folderName maps a path relative to the directory to a folder name. Files
// named <folder>.mbox are named as older mailferry versions wrote them;
// other files, and every file of an archive in the Dovecot layout, have
// modified UTF-7 names, as Dovecot and mailferry's sink write them.
func folderName(rel string, dovecot bool) string {
	var name string
	if dovecot || !strings.HasSuffix(rel, formats.MboxExt) {
		name = formats.MboxDovecotFolderName(rel)
	} else {
		levels := strings.Split(rel, "/")
		for i := range levels[:len(levels)-1] {
			levels[i] = strings.TrimSuffix(levels[i], ".sbd")
		}
		name = formats.MboxFolderName(strings.Join(levels, "/"))
	}
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return name
}

// guessRole gives the special-use role of top-level folders named as mail
// programs name them, so they land in the destination's own folders.
func guessRole(name string) string {
	switch strings.ToLower(name) {
	case "sent", "sent mail", "sent messages", "sent items":
		return `\Sent`
	case "drafts":
		return `\Drafts`
	case "trash", "deleted messages", "deleted items":
		return `\Trash`
	case "junk", "spam":
		return `\Junk`
	case "archive", "archives":
		return `\Archive`
	}
	return ""
}

// fileOf returns the file of folder.
func (s *Source) fileOf(ctx context.Context, folder string) (string, error) {
	files, err := s.scan(ctx)
	if err != nil {
		return "", err
	}
	p, ok := files[folder]
	if !ok {
		return "", transfer.PerMessageError(fmt.Errorf("mbox %s: no folder %q", s.root, folder))
	}
	return p, nil
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
	p, err := s.fileOf(ctx, folder)
	if err != nil {
		return nil, err
	}
	f, size, err := s.openFile(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := formats.NewMboxReader(f, size)
	idx := map[string]entry{}
	copies := map[string]int{}
	var msgs []transfer.Message
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, transfer.FatalError(fmt.Errorf("mbox %s: %w", p, err))
		}
		e := entry{offset: m.Offset, length: m.Length, incomplete: m.Incomplete}
		var id string
		if m.Incomplete {
			id = "incomplete@" + strconv.FormatInt(m.Offset, 10)
			e.size = m.Length
		} else {
			h := sha256.New()
			n, err := io.Copy(h, m.Body())
			if err != nil {
				return nil, transfer.FatalError(fmt.Errorf("mbox %s: reading the message at byte %d: %w", p, m.Offset, err))
			}
			e.size, e.sum = n, h.Sum(nil)
			id = hex.EncodeToString(e.sum[:16])
			copies[id]++
			if c := copies[id]; c > 1 {
				id += "#" + strconv.Itoa(c)
			}
		}
		idx[id] = e
		msgs = append(msgs, transfer.Message{Folder: folder, ID: id, Flags: m.Flags, Date: m.Date, Size: e.size})
	}
	s.mu.Lock()
	s.listed[folder] = idx
	s.mu.Unlock()
	return msgs, nil
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
	p, err := s.fileOf(ctx, folder)
	if err != nil {
		return err
	}
	f, size, err := s.openFile(p)
	if err != nil {
		return err
	}
	defer f.Close()

	order := append([]transfer.Message(nil), msgs...)
	sort.SliceStable(order, func(i, j int) bool { return idx[order[i].ID].offset < idx[order[j].ID].offset })
	var perMsg []error
	fail := func(id string, err error) {
		perMsg = append(perMsg, transfer.PerMessageError(&transfer.MessageError{Folder: folder, ID: id, Err: fmt.Errorf("mbox %s: %w", p, err)}))
	}
	r := formats.NewMboxReader(f, size)
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
		msg := transfer.Message{Folder: folder, ID: want.ID, Flags: m.Flags, Date: m.Date, Size: e.size}
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
