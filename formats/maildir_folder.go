package formats

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Maildir directory layouts, as Dovecot names them (mail_location LAYOUT=).
const (
	// LayoutMaildirPlusPlus keeps every folder as a dot-named directory
	// directly below the root: "Archive/2019" is ".Archive.2019". The inbox
	// is the root itself. "" means this layout too.
	LayoutMaildirPlusPlus = "maildir++"
	// LayoutFS nests folders as directories: "Archive/2019" is
	// "Archive/2019", each level a Maildir of its own where it holds mail.
	LayoutFS = "fs"
)

// maildirEscape is Dovecot's listescape character: a byte that cannot stand
// in a folder level on disk is written as '\' and two lower-case hex digits.
const maildirEscape = '\\'

// CheckMaildirLayout reports whether layout is one mailferry knows.
func CheckMaildirLayout(layout string) error {
	switch strings.ToLower(layout) {
	case "", LayoutMaildirPlusPlus, LayoutFS:
		return nil
	}
	return fmt.Errorf("unknown Maildir layout %q (want %q or %q)", layout, LayoutMaildirPlusPlus, LayoutFS)
}

func isMaildirFSLayout(layout string) bool { return strings.EqualFold(layout, LayoutFS) }

// IsInbox reports whether folder names the inbox (case-insensitively, as IMAP
// compares it).
func IsInbox(folder string) bool { return strings.EqualFold(folder, "INBOX") }

// splitMaildirFolder checks a transfer folder name and splits it into levels; a
// first level spelling INBOX in any case becomes "INBOX".
func splitMaildirFolder(folder string) ([]string, error) {
	if folder == "" {
		return nil, fmt.Errorf("folder name is empty")
	}
	if !utf8.ValidString(folder) {
		return nil, fmt.Errorf("folder name %q is not valid UTF-8", folder)
	}
	levels := strings.Split(folder, "/")
	for _, l := range levels {
		if l == "" {
			return nil, fmt.Errorf("folder name %q has an empty level", folder)
		}
		if strings.IndexByte(l, 0) >= 0 {
			return nil, fmt.Errorf("folder name %q contains a NUL byte", folder)
		}
	}
	if IsInbox(levels[0]) {
		levels[0] = "INBOX"
	}
	return levels, nil
}

// MaildirFolderPath returns where folder lives below a Maildir root, as a
// slash-separated relative path: "" for INBOX (the root itself);
// ".Archive.2019" for "Archive/2019" in the Maildir++ layout, "Archive/2019"
// in the fs layout. Names are escaped the way Dovecot's listescape plugin
// does ('.' inside a level, '\', a '~' starting any level, and levels "." and ".."
// become '\' plus two hex digits) and then written in modified UTF-7, so
// "a.b" is ".a\2eb" and "Entwürfe" is ".Entw&APw-rfe".
func MaildirFolderPath(folder, layout string) (string, error) {
	if err := CheckMaildirLayout(layout); err != nil {
		return "", err
	}
	if IsInbox(folder) {
		return "", nil
	}
	levels, err := splitMaildirFolder(folder)
	if err != nil {
		return "", err
	}
	fs := isMaildirFSLayout(layout)
	var b strings.Builder
	for i, l := range levels {
		if i > 0 {
			if fs {
				b.WriteByte('/')
			} else {
				b.WriteByte('.')
			}
		}
		if fs && (l == "cur" || l == "new" || l == "tmp") {
			return "", fmt.Errorf("folder %q cannot be stored in the fs layout: %q is a Maildir directory name", folder, l)
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			dot := c == '.' && j == 0 && (l == "." || l == "..")
			if (c == '.' && !fs) || c == maildirEscape || c == '/' || dot || (c == '~' && j == 0) {
				fmt.Fprintf(&b, "%c%02x", maildirEscape, c)
				continue
			}
			b.WriteByte(c)
		}
	}
	enc, err := EncodeMUTF7(b.String())
	if err != nil {
		return "", fmt.Errorf("folder %q: %w", folder, err)
	}
	if fs {
		return enc, nil
	}
	return "." + enc, nil
}

// MaildirFolderName is the inverse of MaildirFolderPath: the transfer
// folder name ("INBOX" for "") of a directory path relative to the root.
// It reads names written by Dovecot and other tools too: a '\' not followed
// by two hex digits stays as it is, and a name that is not valid modified
// UTF-7 but is valid UTF-8 (Dovecot's UTF-8 option, or unencoded names from
// other programs) is taken as it is. Names that are neither, that have an
// empty level, or whose escapes decode to a '/' or to invalid UTF-8 are
// errors naming the directory.
func MaildirFolderName(rel, layout string) (string, error) {
	if err := CheckMaildirLayout(layout); err != nil {
		return "", err
	}
	if rel == "" {
		return "INBOX", nil
	}
	fs := isMaildirFSLayout(layout)
	name := rel
	sep := "/"
	if !fs {
		if name[0] != '.' || name == "." || name == ".." {
			return "", fmt.Errorf("folder directory %q is not a Maildir++ folder: it does not start with '.'", rel)
		}
		name = name[1:]
		sep = "."
	}
	dec, err := DecodeMUTF7(name)
	if err != nil {
		if !utf8.ValidString(name) {
			return "", fmt.Errorf("folder directory %q: not modified UTF-7 (%v) and not UTF-8", rel, err)
		}
		dec = name
	}
	levels := strings.Split(dec, sep)
	for i, l := range levels {
		if l == "" {
			return "", fmt.Errorf("folder directory %q has an empty level", rel)
		}
		u := unescapeMaildirLevel(l)
		if strings.IndexByte(u, '/') >= 0 {
			return "", fmt.Errorf("folder directory %q: level %q holds a '/', which mailferry uses as the separator", rel, u)
		}
		if u == "" || strings.IndexByte(u, 0) >= 0 || !utf8.ValidString(u) {
			return "", fmt.Errorf("folder directory %q: level %q does not decode to a valid name", rel, l)
		}
		levels[i] = u
	}
	return strings.Join(levels, "/"), nil
}

// unescapeMaildirLevel replaces each '\' followed by two hex digits (either case,
// as Dovecot accepts) with the byte they spell.
func unescapeMaildirLevel(l string) string {
	if strings.IndexByte(l, maildirEscape) < 0 {
		return l
	}
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		if l[i] == maildirEscape && i+2 < len(l) {
			hi, ok1 := maildirUnhex(l[i+1])
			lo, ok2 := maildirUnhex(l[i+2])
			if ok1 && ok2 {
				b.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		b.WriteByte(l[i])
	}
	return b.String()
}

func maildirUnhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
