// Package maildir reads mail from a Maildir (Dovecot's Maildir++ or the fs
// layout, and Maildirs of other programs) without changing it: listing and
// fetching neither move files from new/ to cur/ nor touch flags or mtimes.
//
// A message's ID is the unique part of its file name (everything before the
// ":2," info), which stays the same when a mail program renames the file to
// change its flags; Fetch finds a renamed file again by it. Flags come from
// the info letters and the folder's dovecot-keywords file, the date from the
// file's mtime, and bodies are passed on exactly as stored (CRLF=false).
//
// The Maildir is read through an os.Root (see internal/localstore): a
// symbolic link in cur/, new/ or in place of a folder directory is followed
// only while it stays inside the Maildir; one that leads out, loops or
// dangles is skipped with a warning naming it. A folder that cannot be read
// completely (a directory with new/ but no cur/, a cur/ that cannot be
// read) is listed, and listing its messages fails with a PerMessage error
// naming it, so the run copies the other folders and exits 3.
package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/localstore"
	"github.com/mailferry/mailferry/transfer"
)

// maxFetchers is how many Fetch calls may run at once: local files, so a
// few in parallel keep the disk busy without thrashing it.
const maxFetchers = 4

// Options configure a Source.
type Options struct {
	// Layout is the folder layout: "" or "maildir++" for Maildir++ (the
	// Dovecot default), "fs" for nested directories.
	Layout string
	// Warn receives notes about what is skipped or cannot be represented
	// (a directory name that does not decode, a keyword letter missing from
	// dovecot-keywords). Nil discards them. Calls are serialised.
	Warn func(string)
}

// Source reads a Maildir. It is safe for concurrent use.
type Source struct {
	root   string
	fsroot *os.Root // every file is opened through it
	opts   Options

	warnMu sync.Mutex
	warned map[string]bool // warnings given once per Source

	mu      sync.Mutex
	dirs    map[string]string   // folder name → absolute directory, from Folders
	broken  map[string]error    // folder name → why it cannot be read completely
	folders map[string]*listing // folder name → files last seen
}

// listing maps the IDs of one folder to the paths of their files.
type listing struct {
	dir   string
	paths map[string]string
	kw    formats.MaildirKeywords
}

var (
	_ transfer.Source   = (*Source)(nil)
	_ transfer.Fetchers = (*Source)(nil)
	_ transfer.Deleter  = (*Source)(nil)
)

// Open opens the Maildir at path for reading. It fails with a Fatal error
// naming the path when the path does not exist, is not a directory, or has
// no cur/ directory.
func Open(path string, opts Options) (*Source, error) {
	if err := formats.CheckMaildirLayout(opts.Layout); err != nil {
		return nil, transfer.FatalError(fmt.Errorf("maildir %s: %w", path, err))
	}
	root, err := filepath.Abs(path)
	if err != nil {
		return nil, transfer.FatalError(fmt.Errorf("maildir %s: %w", path, err))
	}
	st, err := os.Stat(root)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, transfer.FatalError(fmt.Errorf("maildir %s does not exist", root))
	case err != nil:
		return nil, transfer.FatalError(fmt.Errorf("maildir %s: %w", root, err))
	case !st.IsDir():
		return nil, transfer.FatalError(fmt.Errorf("maildir %s is not a directory", root))
	}
	if st, err := os.Stat(filepath.Join(root, "cur")); err != nil || !st.IsDir() {
		var missing []string
		for _, sub := range []string{"cur", "new", "tmp"} {
			if st, err := os.Stat(filepath.Join(root, sub)); err != nil || !st.IsDir() {
				missing = append(missing, sub+"/")
			}
		}
		return nil, transfer.FatalError(fmt.Errorf("maildir %s is not a Maildir: %s missing (a Maildir has cur/, new/ and tmp/)",
			root, strings.Join(missing, ", ")))
	}
	fsroot, err := os.OpenRoot(root)
	if err != nil {
		return nil, transfer.FatalError(fmt.Errorf("maildir %s: %w", root, err))
	}
	return &Source{
		root:    root,
		fsroot:  fsroot,
		opts:    opts,
		warned:  make(map[string]bool),
		dirs:    make(map[string]string),
		broken:  make(map[string]error),
		folders: make(map[string]*listing),
	}, nil
}

func (s *Source) warn(format string, args ...any) {
	if s.opts.Warn == nil {
		return
	}
	s.warnMu.Lock()
	defer s.warnMu.Unlock()
	s.opts.Warn(fmt.Sprintf("maildir %s: ", s.root) + fmt.Sprintf(format, args...))
}

// warnOnce warns about err only the first time: Folders, List and the
// rescans of Fetch meet the same bad link again.
func (s *Source) warnOnce(err error) {
	s.warnMu.Lock()
	seen := s.warned[err.Error()]
	s.warned[err.Error()] = true
	s.warnMu.Unlock()
	if !seen {
		s.warn("skipping %v", err)
	}
}

// rel is dir relative to the root, as the os.Root takes it.
func (s *Source) rel(p string) string {
	r, err := filepath.Rel(s.root, p)
	if err != nil {
		return p // not below the root: the os.Root refuses it
	}
	return r
}

// MaxFetchers implements transfer.Fetchers.
func (s *Source) MaxFetchers() int { return maxFetchers }

// Close releases the root directory; message files are opened only inside
// Fetch.
func (s *Source) Close() error { return s.fsroot.Close() }

// Folders returns INBOX (the root) and every subfolder that is a Maildir,
// with message counts and sizes. Directories whose names do not decode are
// skipped with a warning. A folder that cannot be read completely is
// returned with unknown counts; List then fails for it.
func (s *Source) Folders(ctx context.Context) ([]transfer.Folder, error) {
	found := map[string]string{"INBOX": s.root}
	broken := map[string]error{}
	var err error
	if strings.EqualFold(s.opts.Layout, formats.LayoutFS) {
		err = s.scanFS(ctx, "", 0, found, broken)
	} else {
		err = s.scanPlusPlus(found, broken)
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	subs := s.subscriptions()
	out := make([]transfer.Folder, 0, len(names))
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if broken[n] != nil {
			out = append(out, transfer.Folder{Name: n, Role: formats.RoleByName(n), Messages: -1, Bytes: -1})
			continue
		}
		count, bytes, err := s.countDir(found[n])
		if err != nil {
			broken[n] = err
			out = append(out, transfer.Folder{Name: n, Role: formats.RoleByName(n), Messages: -1, Bytes: -1})
			continue
		}
		out = append(out, transfer.Folder{Name: n, Role: formats.RoleByName(n), Messages: count, Bytes: bytes})
	}
	for i := range out {
		out[i].Subscription = subscription(subs, out[i].Name)
	}
	s.mu.Lock()
	s.dirs, s.broken = found, broken
	s.mu.Unlock()
	return out, nil
}

// scanPlusPlus finds the ".Name" Maildirs below the root, and hints at
// ?layout=fs when plain directories below it are Maildirs too.
func (s *Source) scanPlusPlus(found map[string]string, broken map[string]error) error {
	entries, err := s.readDir(s.root)
	if err != nil {
		return transfer.FatalError(fmt.Errorf("maildir %s: %w", s.root, err))
	}
	var fsFolders []string
	for _, e := range entries {
		n := e.Name()
		if n == "cur" || n == "new" || n == "tmp" {
			continue
		}
		if !strings.HasPrefix(n, ".") {
			if s.holdsMaildir(n) {
				fsFolders = append(fsFolders, n)
			}
			continue
		}
		if n == "." || n == ".." {
			continue
		}
		info, err := localstore.Stat(s.fsroot, n)
		if localstore.IsLink(err) {
			s.warnOnce(err)
			continue
		}
		if err != nil || !info.IsDir() {
			continue
		}
		dir := filepath.Join(s.root, n)
		ok, why := s.checkMaildir(n)
		if !ok && why == nil {
			s.warn("skipping directory %s: it is not a Maildir (no cur/, new/ or tmp/)", n)
			continue
		}
		if name := s.addFolder(found, n, dir); name != "" && why != nil {
			broken[name] = why
		}
	}
	if len(fsFolders) > 0 {
		s.warn("the directories %q hold Maildirs of the fs layout (nested folder directories), which maildir:%s does not read; "+
			"write maildir:%s?layout=fs to copy them", fsFolders, s.root, s.root)
	}
	return nil
}

// holdsMaildir reports whether the plain directory rel, or a directory
// right below it, is a Maildir: the sign of a Maildir in the fs layout.
func (s *Source) holdsMaildir(rel string) bool {
	if ok, _ := s.checkMaildir(rel); ok {
		return true
	}
	entries, err := s.readDir(filepath.Join(s.root, rel))
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() {
			if ok, _ := s.checkMaildir(filepath.Join(rel, e.Name())); ok {
				return true
			}
		}
	}
	return false
}

// checkMaildir says whether the directory rel is a readable Maildir (ok),
// or looks like one (it has new/ or tmp/, or a cur/ that is not a
// directory) but cannot be read completely (why), or is no Maildir at all
// (neither).
func (s *Source) checkMaildir(rel string) (ok bool, why error) {
	dir := filepath.Join(s.root, rel)
	info, err := localstore.Stat(s.fsroot, filepath.Join(rel, "cur"))
	switch {
	case err == nil && info.IsDir():
		return true, nil
	case err == nil:
		return false, fmt.Errorf("%s/cur is not a directory", dir)
	case localstore.IsLink(err):
		return false, err
	case !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	var has []string
	for _, sub := range []string{"new", "tmp"} {
		if _, err := s.fsroot.Lstat(filepath.Join(rel, sub)); err == nil {
			has = append(has, sub+"/")
		}
	}
	if len(has) == 0 {
		return false, nil
	}
	return false, fmt.Errorf("%s has %s but no cur/", dir, strings.Join(has, " and "))
}

// readDir lists the directory dir (absolute, inside the root).
func (s *Source) readDir(dir string) ([]fs.DirEntry, error) {
	f, err := localstore.Open(s.fsroot, s.rel(dir))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return entries, err
}

// maxFSDepth bounds the fs-layout walk.
const maxFSDepth = 64

// scanFS walks the nested directories of the fs layout. A symbolic link to
// a folder directory is read when it stays inside the Maildir, but the walk
// does not go on below it, so a link loop cannot trap the walk.
func (s *Source) scanFS(ctx context.Context, rel string, depth int, found map[string]string, broken map[string]error) error {
	if depth > maxFSDepth {
		s.warn("directory %s is nested more than %d levels deep; not searched further", rel, maxFSDepth)
		return nil
	}
	entries, err := s.readDir(filepath.Join(s.root, filepath.FromSlash(rel)))
	if err != nil {
		return transfer.FatalError(fmt.Errorf("maildir %s: %w", s.root, err))
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := e.Name()
		if n == "cur" || n == "new" || n == "tmp" {
			continue
		}
		sub := n
		if rel != "" {
			sub = rel + "/" + n
		}
		link := e.Type()&fs.ModeSymlink != 0
		if link {
			info, err := localstore.Stat(s.fsroot, filepath.FromSlash(sub))
			if localstore.IsLink(err) {
				s.warnOnce(err)
				continue
			}
			if err != nil || !info.IsDir() {
				continue
			}
		} else if !e.IsDir() {
			continue
		}
		dir := filepath.Join(s.root, filepath.FromSlash(sub))
		ok, why := s.checkMaildir(filepath.FromSlash(sub))
		if ok || why != nil {
			if name := s.addFolder(found, sub, dir); name != "" && why != nil {
				broken[name] = why
			}
		}
		if link {
			continue
		}
		if err := s.scanFS(ctx, sub, depth+1, found, broken); err != nil {
			return err
		}
	}
	return nil
}

// addFolder decodes a directory name and records the folder, returning its
// name, or "" when it was skipped.
func (s *Source) addFolder(found map[string]string, rel, dir string) string {
	name, err := formats.MaildirFolderName(rel, s.opts.Layout)
	if err != nil {
		s.warn("skipping %v", err)
		return ""
	}
	if formats.IsInbox(name) {
		s.warn("skipping folder directory %q: it decodes to INBOX, which is the Maildir root", rel)
		return ""
	}
	if other, dup := found[name]; dup {
		s.warn("skipping folder directory %q: folder %q is already read from %s", rel, name, other)
		return ""
	}
	found[name] = dir
	return name
}

// countDir counts the messages in cur/ and new/ and their stored bytes,
// as scan will find them: symbolic links count only when they stay inside
// the Maildir.
func (s *Source) countDir(dir string) (int, int64, error) {
	count, bytes := 0, int64(0)
	for _, sub := range []string{"new", "cur"} {
		d := filepath.Join(dir, sub)
		entries, err := s.readDir(d)
		if errors.Is(err, os.ErrNotExist) && !localstore.IsLink(err) {
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		for _, e := range entries {
			n, err := formats.ParseMaildirName(e.Name())
			if err != nil || e.IsDir() {
				continue
			}
			size := n.Size
			if e.Type()&fs.ModeSymlink != 0 {
				info, err := localstore.Stat(s.fsroot, s.rel(filepath.Join(d, e.Name())))
				if err != nil || !info.Mode().IsRegular() {
					continue
				}
				if size < 0 {
					size = info.Size()
				}
			}
			if size < 0 {
				info, err := e.Info()
				if err != nil {
					continue
				}
				size = info.Size()
			}
			count++
			bytes += size
		}
	}
	return count, bytes, nil
}

// folderDir returns the directory of a folder: the one Folders found, or
// else where the layout puts the name.
func (s *Source) folderDir(folder string) (string, error) {
	s.mu.Lock()
	dir, ok := s.dirs[folder]
	why := s.broken[folder]
	s.mu.Unlock()
	if why != nil {
		return "", s.unreadable(folder, why)
	}
	if ok {
		return dir, nil
	}
	rel, err := formats.MaildirFolderPath(folder, s.opts.Layout)
	if err != nil {
		return "", transfer.FatalError(fmt.Errorf("maildir %s: %w", s.root, err))
	}
	return filepath.Join(s.root, filepath.FromSlash(rel)), nil
}

// unreadable is the error of a folder that cannot be read completely. It
// is PerMessage: the other folders can still be copied, and this one is
// reported by name (exit code 3).
func (s *Source) unreadable(folder string, why error) error {
	return transfer.PerMessageError(fmt.Errorf("maildir %s: folder %q is not read, as it cannot be read completely: %w", s.root, folder, why))
}

// file is one message file found in a scan.
type file struct {
	path string
	name formats.MaildirName
	info fs.FileInfo
}

// scan reads new/ and then cur/ of dir, so a file a mail program moves from
// new/ to cur/ meanwhile is seen at least once; when an ID appears in both,
// the cur/ file wins. Files that vanish between reading a directory and
// stat'ing them are looked up again once. Nothing is modified.
func (s *Source) scan(dir string) (map[string]file, error) {
	files := make(map[string]file)
	var vanished bool
	read := func(sub string) error {
		d := filepath.Join(dir, sub)
		entries, err := s.readDir(d)
		if errors.Is(err, os.ErrNotExist) && !localstore.IsLink(err) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			n, err := formats.ParseMaildirName(e.Name())
			if err != nil {
				if !strings.HasPrefix(e.Name(), ".") {
					s.warn("skipping %s: %v", filepath.Join(d, e.Name()), err)
				}
				continue
			}
			p := filepath.Join(d, e.Name())
			info, err := entryInfo(s.fsroot, s.rel(p), e)
			switch {
			case localstore.IsLink(err):
				s.warnOnce(err)
				continue
			case errors.Is(err, os.ErrNotExist):
				vanished = true
				continue
			case err != nil:
				return err
			}
			if !info.Mode().IsRegular() {
				s.warn("skipping %s: not a regular file", p)
				continue
			}
			files[n.Unique] = file{path: p, name: n, info: info}
		}
		return nil
	}
	if err := read("new"); err != nil {
		return nil, err
	}
	if err := read("cur"); err != nil {
		return nil, err
	}
	if vanished {
		// A rename raced the scan: read cur/ once more for what is missing
		// (files already found are simply seen again).
		if err := read("cur"); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// entryInfo returns what the directory entry e (at rel) names. A
// directory read through an os.Root has already lstat'ed each entry, and
// for anything but a symbolic link that is the answer: stat'ing it again
// through the root cost three more system calls a message (an openat of
// the directory, the fstatat, a close).
func entryInfo(root *os.Root, rel string, e fs.DirEntry) (fs.FileInfo, error) {
	if e.Type()&fs.ModeSymlink == 0 {
		if info, err := e.Info(); err == nil {
			return info, nil
		}
	}
	return localstore.Stat(root, rel)
}

// List returns the messages of folder, oldest first, without reading their
// bodies or changing anything. A folder without a Maildir has no messages.
func (s *Source) List(ctx context.Context, folder string) ([]transfer.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := s.folderDir(folder)
	if err != nil {
		return nil, err
	}
	files, err := s.scan(dir)
	if err != nil {
		return nil, s.unreadable(folder, err)
	}
	kw := s.keywords(dir, folder)
	msgs := make([]transfer.Message, 0, len(files))
	paths := make(map[string]string, len(files))
	unknown := map[byte]bool{}
	for id, f := range files {
		flags, unk := f.name.FlagsWith(&kw)
		for _, c := range unk {
			unknown[c] = true
		}
		msgs = append(msgs, transfer.Message{
			Folder: folder,
			ID:     id,
			Flags:  flags,
			Date:   f.info.ModTime(),
			Size:   f.info.Size(),
		})
		paths[id] = f.path
	}
	if len(unknown) > 0 {
		var letters []byte
		for c := range unknown {
			letters = append(letters, c)
		}
		sort.Slice(letters, func(i, j int) bool { return letters[i] < letters[j] })
		s.warn("folder %q: keyword letters %q are not in %s; those keywords are not copied", folder, letters, formats.MaildirKeywordsFile)
	}
	sort.Slice(msgs, func(i, j int) bool {
		if !msgs[i].Date.Equal(msgs[j].Date) {
			return msgs[i].Date.Before(msgs[j].Date)
		}
		return msgs[i].ID < msgs[j].ID
	})
	s.mu.Lock()
	s.folders[folder] = &listing{dir: dir, paths: paths, kw: kw}
	s.mu.Unlock()
	return msgs, nil
}

// keywords reads the folder's dovecot-keywords table, warning about lines
// it skips; a missing or unreadable file gives an empty table.
func (s *Source) keywords(dir, folder string) formats.MaildirKeywords {
	data, err := s.fsroot.ReadFile(s.rel(filepath.Join(dir, formats.MaildirKeywordsFile)))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.warn("folder %q: keywords not read: %v", folder, err)
		}
		return formats.MaildirKeywords{}
	}
	kw, skipped := formats.ParseMaildirKeywords(data)
	for _, sk := range skipped {
		s.warn("folder %q: %s: ignored %s", folder, formats.MaildirKeywordsFile, sk)
	}
	return kw
}

// lookup returns the path last seen for a message and the folder's
// keywords; rescan reads the folder again first.
func (s *Source) lookup(folder, id string, rescan bool) (string, bool, formats.MaildirKeywords, error) {
	if rescan {
		dir, err := s.folderDir(folder)
		if err != nil {
			return "", false, formats.MaildirKeywords{}, err
		}
		files, err := s.scan(dir)
		if err != nil {
			return "", false, formats.MaildirKeywords{}, s.unreadable(folder, err)
		}
		paths := make(map[string]string, len(files))
		for fid, f := range files {
			paths[fid] = f.path
		}
		kw := s.keywords(dir, folder)
		s.mu.Lock()
		s.folders[folder] = &listing{dir: dir, paths: paths, kw: kw}
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.folders[folder]
	if !ok {
		return "", false, formats.MaildirKeywords{}, nil
	}
	p, ok := l.paths[id]
	return p, ok, l.kw, nil
}

// open opens a message file, finding it again by its ID when a mail program
// renamed it since it was listed: a message not in the last scan, or whose
// file vanished, makes the folder be read again (an ID missing from a scan
// made during this Fetch is not looked for again). A nil file and nil error
// mean the message is gone.
func (s *Source) open(folder string, m transfer.Message, dirs *openDirs, rescanned *bool) (*os.File, formats.MaildirKeywords, error) {
	p, ok, kw, err := s.lookup(folder, m.ID, false)
	if err != nil {
		return nil, kw, err
	}
	for rescans := 0; ; rescans++ {
		if ok {
			f, err := dirs.open(p)
			if err == nil {
				return f, kw, nil
			}
			if localstore.IsLink(err) || !errors.Is(err, os.ErrNotExist) {
				return nil, kw, messageError(folder, m.ID, err)
			}
		} else if *rescanned && rescans == 0 {
			return nil, kw, nil
		}
		if rescans == 2 {
			return nil, kw, nil
		}
		*rescanned = true
		p, ok, kw, err = s.lookup(folder, m.ID, true)
		if err != nil {
			return nil, kw, err
		}
		if !ok {
			return nil, kw, nil
		}
	}
}

// Fetch passes each message's bytes exactly as stored. A message whose
// file is gone (deleted since it was listed) or cannot be opened is reported
// as a PerMessage *transfer.MessageError and the others go on; an error
// reading an opened file reaches fn's reader as such an error too. An error
// fn returns stops Fetch and is returned.
func (s *Source) Fetch(ctx context.Context, folder string, msgs []transfer.Message, fn func(transfer.Message, io.Reader) error) error {
	var perMsg []error
	rescanned := false
	dirs := &openDirs{s: s}
	defer dirs.close()
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, kw, err := s.open(folder, m, dirs, &rescanned)
		if err == nil && f == nil {
			err = messageError(folder, m.ID, fmt.Errorf("maildir %s: the message file is gone (deleted since it was listed)", s.root))
		}
		var info os.FileInfo
		if err == nil {
			info, err = f.Stat()
			if err == nil && !info.Mode().IsRegular() {
				err = fmt.Errorf("%s is not a regular file", f.Name())
			}
			if err != nil {
				f.Close()
				err = messageError(folder, m.ID, err)
			}
		}
		if err != nil {
			var me *transfer.MessageError
			if transfer.ClassOf(err) == transfer.PerMessage && errors.As(err, &me) {
				perMsg = append(perMsg, err)
				continue
			}
			return err
		}
		// Report what the file says now: a mail program may have renamed
		// it (changing flags) since List.
		m.Folder = folder
		m.Size = info.Size()
		m.Date = info.ModTime()
		m.CRLF = false
		if n, err := formats.ParseMaildirName(filepath.Base(f.Name())); err == nil {
			m.Flags, _ = n.FlagsWith(&kw)
		}
		err = fn(m, &fileReader{f: f, r: io.LimitReader(f, m.Size), folder: folder, id: m.ID})
		f.Close()
		if err != nil {
			return err
		}
	}
	return errors.Join(perMsg...)
}

// openDirs holds the directories (cur/, new/) a Fetch opened its files
// in, so each message file is opened with one system call (see
// localstore.Dir).
type openDirs struct {
	s    *Source
	dirs map[string]*localstore.Dir // by absolute path
}

// open opens the message file p (absolute, inside the root).
func (o *openDirs) open(p string) (*os.File, error) {
	dir := filepath.Dir(p)
	d, ok := o.dirs[dir]
	if !ok {
		var err error
		if d, err = localstore.OpenDir(o.s.fsroot, o.s.rel(dir)); err != nil {
			return nil, err
		}
		if o.dirs == nil {
			o.dirs = make(map[string]*localstore.Dir)
		}
		o.dirs[dir] = d
	}
	f, err := d.Open(filepath.Base(p))
	if errors.Is(err, os.ErrNotExist) {
		// The directory held open may be one a mail program replaced:
		// the next open, after a rescan, opens it again by its name.
		d.Close()
		delete(o.dirs, dir)
	}
	return f, err
}

func (o *openDirs) close() {
	for _, d := range o.dirs {
		d.Close()
	}
}

// fileReader turns read errors of a message file into PerMessage errors
// naming the message and file, so one unreadable message does not stop the
// run.
type fileReader struct {
	f          *os.File
	r          io.Reader
	folder, id string
}

func (fr *fileReader) Read(p []byte) (int, error) {
	n, err := fr.r.Read(p)
	if err != nil && err != io.EOF {
		err = messageError(fr.folder, fr.id, fmt.Errorf("read %s: %w", fr.f.Name(), err))
	}
	return n, err
}

func messageError(folder, id string, err error) error {
	return transfer.PerMessageError(&transfer.MessageError{Folder: folder, ID: id, Err: err})
}
