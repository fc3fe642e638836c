package mbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

// folderFile is where a folder's messages are: an mbox file, or, for a
// folder made from Google Takeout labels, the messages of a Takeout file
// that carry the label.
type folderFile struct {
	path    string
	takeout *takeoutFile // nil for a plain mbox file
}

// maxDepth bounds how deep discovery descends; real mail trees are a few
// levels deep, and symbolic links to directories are not followed.
const maxDepth = 64

// discovery walks a directory and finds the folders of every layout mail
// programs leave behind: mailferry's own (<name>.mbox files, subfolders in
// <name>/), Thunderbird's and Evolution's (extension-less files,
// subfolders in <name>.sbd/), Apple Mail's export bundles (<name>.mbox/mbox)
// and KMail's (subfolders in .<name>.directory/); a Google Takeout file
// becomes one folder per label. Each layout's rules are in its own file.
type discovery struct {
	ctx     context.Context
	linkOK  func(p string) bool // whether a symbolic link may be followed (it warns when not)
	open    opener
	root    string
	dedupe  bool
	dovecot bool // a mailferry archive in the layout Dovecot serves
	folders map[string]folderFile
}

// opener opens an mbox file for reading, with its size.
type opener func(p string) (*os.File, int64, error)

// discover finds the folders under root, following only the symbolic
// links linkOK allows and opening files with open. A root that is itself an
// Apple Mail bundle is its mailbox as INBOX, with the bundles inside it as
// folders.
func discover(ctx context.Context, root string, dedupe bool, linkOK func(string) bool, open opener) (map[string]folderFile, error) {
	d := &discovery{ctx: ctx, linkOK: linkOK, open: open, root: root, dedupe: dedupe, dovecot: dovecotLayout(root), folders: map[string]folderFile{}}
	if p, ok := d.bundle(root); ok {
		if err := d.addFile(p, nil, "INBOX"); err != nil {
			return nil, err
		}
	}
	if err := d.dir(root, nil, 0); err != nil {
		return nil, err
	}
	return d.folders, nil
}

// dir looks at the entries of the directory path, whose folders are
// subfolders of the levels parent (raw file-name levels, unescaped later).
func (d *discovery) dir(path string, parent []string, depth int) error {
	if depth > maxDepth {
		return transfer.FatalError(fmt.Errorf("mbox %s: folders nested more than %d levels deep", path, maxDepth))
	}
	if err := d.ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return transfer.FatalError(fmt.Errorf("mbox %s: %w", path, err))
	}
	_, inBundle := d.bundle(path)
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(path, name)
		if e.Type()&os.ModeSymlink != 0 && !d.linkOK(p) {
			continue // out of the directory, a loop, or to a directory
		}
		if e.IsDir() {
			if err := d.subdir(p, name, parent, depth); err != nil {
				return err
			}
			continue
		}
		if inBundle || strings.HasPrefix(name, ".") || bookkeepingFile(name) {
			continue // a bundle's own files, hidden files, indexes, state
		}
		info, err := os.Stat(p) // follows a symbolic link to the file
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		switch {
		case strings.HasSuffix(name, formats.MboxExt):
		case info.Size() == 0 && emptyThunderbirdFolder(p):
		case info.Size() > 0 && startsWithFromLine(p):
			// Thunderbird, Evolution, mutt and Pine folders have no
			// extension; their first line says what they are.
		default:
			continue
		}
		if err := d.addFile(p, parent, name); err != nil {
			return err
		}
	}
	return nil
}

// subdir descends into a directory entry according to its layout.
func (d *discovery) subdir(p, name string, parent []string, depth int) error {
	level := name
	if mbox, ok := d.bundle(p); ok {
		level = strings.TrimSuffix(name, formats.MboxExt)
		if err := d.addFile(mbox, parent, name); err != nil {
			return err
		}
		return d.dir(p, append(parent[:len(parent):len(parent)], level), depth+1)
	}
	switch {
	case thunderbirdSubfolders(name) != "":
		level = thunderbirdSubfolders(name)
	case kmailSubfolders(name) != "":
		level = kmailSubfolders(name)
	case strings.HasPrefix(name, "."):
		return nil // hidden: a program's own data (.imap, caches)
	}
	return d.dir(p, append(parent[:len(parent):len(parent)], level), depth+1)
}

// addFile records the folder held by the mbox file p, named by the levels
// parent and the file's own last level; a Takeout file records its label
// folders instead.
func (d *discovery) addFile(p string, parent []string, last string) error {
	tf, err := openTakeout(d.ctx, p, d.dedupe, d.open)
	if err != nil {
		return err
	}
	if tf != nil {
		for _, f := range tf.folders {
			if err := d.add(f.Name, folderFile{path: p, takeout: tf}); err != nil {
				return err
			}
		}
		return nil
	}
	return d.add(folderName(append(parent[:len(parent):len(parent)], last), d.dovecot), folderFile{path: p})
}

// bundle returns the messages file of dir if dir is an Apple Mail bundle
// whose file may be read (a link must stay inside the directory).
func (d *discovery) bundle(dir string) (string, bool) {
	if !isAppleBundle(dir) {
		return "", false
	}
	p, _ := appleMailbox(dir)
	if fi, err := os.Lstat(p); err != nil || (fi.Mode()&os.ModeSymlink != 0 && !d.linkOK(p)) {
		return "", false
	}
	return p, true
}

func (d *discovery) add(folder string, ff folderFile) error {
	if other, dup := d.folders[folder]; dup {
		return transfer.FatalError(fmt.Errorf("mbox %s: %s and %s both hold folder %q; rename one of them", d.root, other.path, ff.path, folder))
	}
	d.folders[folder] = ff
	return nil
}

// folderName maps file-name levels to a folder name, a final .mbox
// removed: files named <folder>.mbox are unescaped as older mailferry
// versions wrote them; other files, and every file of an archive in the
// Dovecot layout, have modified UTF-7 names, as Dovecot and mailferry's
// sink write them (a name that is not valid modified UTF-7, as other
// programs write them, stays as it is). A top-level inbox file
// (INBOX.mbox, Thunderbird's Inbox) is INBOX.
func folderName(levels []string, dovecot bool) string {
	rel := strings.Join(levels, "/")
	var name string
	if dovecot || !strings.HasSuffix(rel, formats.MboxExt) {
		name = formats.MboxDovecotFolderName(rel)
	} else {
		name = formats.MboxFolderName(rel)
	}
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return name
}

// bookkeepingFile reports files that sit beside mbox folders but are not
// folders: mailferry's state files, lock files and the indexes of
// Thunderbird and Evolution.
func bookkeepingFile(name string) bool {
	if name == "mailferry.state" || strings.HasSuffix(name, ".mailferry.state") || strings.HasSuffix(name, ".lock") {
		return true
	}
	return thunderbirdIndex(name) || evolutionIndex(name)
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
	n, _ := f.Read(buf)
	buf = buf[:n]
	for len(buf) > 0 && (buf[0] == '\n' || buf[0] == '\r') {
		buf = buf[1:]
	}
	line, _, _ := strings.Cut(string(buf), "\n")
	_, _, ok := formats.ParseMboxFromLine([]byte(line))
	return ok
}

// discoverFile is the folder of a single mbox file: INBOX, or the label
// folders of a Takeout file.
func discoverFile(ctx context.Context, p string, dedupe bool, open opener) (map[string]folderFile, error) {
	d := &discovery{ctx: ctx, open: open, root: p, dedupe: dedupe, folders: map[string]folderFile{}}
	if err := d.addFile(p, nil, "INBOX"); err != nil {
		return nil, err
	}
	return d.folders, nil
}
