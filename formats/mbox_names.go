package formats

import (
	"fmt"
	"strings"
)

// MboxExt is the extension of the files of a directory of mbox folders.
const MboxExt = ".mbox"

// MboxFolderPath returns the slash-separated path, relative to the
// directory, of the mbox file holding folder.
//
// In a directory of mbox files, folder "a/b" is the file "a/b.mbox": every
// level but the last is a directory, the last a file with MboxExt. Each
// level is escaped so any folder name makes a valid, unambiguous file name
// that mbox readers and the mailferry source map back:
//
//   - '%' and characters that are not allowed or not safe in file names on
//     common systems ('\', ':', '*', '?', '"', '<', '>', '|', control
//     characters) become %XX (upper-case hex of the byte);
//   - a leading '.' becomes %2E (no hidden files, no "." or ".."), and the
//     '.' of a trailing ".msf" or ".sbd" too (Thunderbird's index files and
//     subfolder directories, which the source reads specially);
//   - an empty level becomes "%".
//
// UTF-8 and other bytes are kept as they are.
func MboxFolderPath(folder string) (string, error) {
	if folder == "" {
		return "", fmt.Errorf("mbox: empty folder name")
	}
	levels := strings.Split(folder, "/")
	for i, l := range levels {
		levels[i] = escapeMboxLevel(l)
	}
	return strings.Join(levels, "/") + MboxExt, nil
}

// MboxFolderName returns the folder for a slash-separated path relative to
// the directory; a trailing MboxExt is removed first. The caller maps a
// top-level inbox file to "INBOX".
func MboxFolderName(rel string) string {
	rel = strings.TrimSuffix(rel, MboxExt)
	levels := strings.Split(rel, "/")
	for i, l := range levels {
		levels[i] = unescapeMboxLevel(l)
	}
	return strings.Join(levels, "/")
}

func escapeMboxLevel(s string) string {
	if s == "" {
		return "%"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		dot := c == '.' && (i == 0 || (i == len(s)-4 && (s[i:] == ".msf" || s[i:] == ".sbd")))
		if dot || c == '%' || c < 0x20 || c == 0x7f || strings.IndexByte(`\:*?"<>|`, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func unescapeMboxLevel(s string) string {
	if s == "%" {
		return ""
	}
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && mboxIsHex(s[i+1]) && mboxIsHex(s[i+2]) {
			b.WriteByte(mboxUnhex(s[i+1])<<4 | mboxUnhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func mboxIsHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f'
}

func mboxUnhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// MboxDovecotPath returns the slash-separated path, relative to the
// directory, of the mbox file holding folder in the layout Dovecot's mbox
// driver serves (mail_location = mbox:DIR:INBOX=DIR/INBOX): every level
// but the last is a directory, the last a file without an extension, and
// each level is its modified UTF-7 name (RFC 3501), which is what Dovecot
// 2.3 looks for on disk. On top of that, so every folder name maps to a
// file name that Dovecot lists under that name and the mailferry source
// maps back:
//
//   - '%' becomes %25, and a leading '.' or '~' %2E or %7E (Dovecot
//     refuses names starting with '~'; hidden files are skipped by mbox
//     readers);
//   - the '.' of a trailing ".mbox", ".sbd", ".msf" or ".lock" becomes %2E
//     (the suffixes of old mailferry archives and Thunderbird folders, and
//     Dovecot's lock files, which it does not list);
//   - an empty level becomes "%";
//   - a level that is not UTF-8 keeps its bytes, those outside printable
//     ASCII as %XX.
//
// Modified UTF-7 carries control characters and non-ASCII letters, so no
// other byte needs escaping. A folder whose messages and subfolders both
// exist cannot be one mbox file and one directory of the same name; the
// sink resolves that (see sink/mbox).
func MboxDovecotPath(folder string) (string, error) {
	if folder == "" {
		return "", fmt.Errorf("mbox: empty folder name")
	}
	levels := strings.Split(folder, "/")
	for i, l := range levels {
		e, err := EncodeMUTF7(l)
		if err != nil {
			// Not UTF-8 (a name from an old 8-bit store): no modified
			// UTF-7 exists for it, so its bytes are kept as %XX.
			levels[i] = escapeDovecotLevel(l, true)
			continue
		}
		levels[i] = escapeDovecotLevel(e, false)
	}
	return strings.Join(levels, "/"), nil
}

// MboxDovecotFolderName is the inverse of MboxDovecotPath, given a path
// relative to the directory. A trailing ".mbox" on the file and ".sbd" on
// a directory are dropped first (the sink's names for a folder that has
// both messages and subfolders). A level that is not valid modified UTF-7
// (a file another program named) is taken as it is. The caller maps a
// top-level inbox file to "INBOX".
func MboxDovecotFolderName(rel string) string {
	levels := strings.Split(rel, "/")
	for i, l := range levels {
		if i == len(levels)-1 {
			l = strings.TrimSuffix(l, MboxExt)
		} else {
			l = strings.TrimSuffix(l, ".sbd")
		}
		l = unescapeMboxLevel(l)
		if strings.Contains(l, "&") {
			if d, err := DecodeMUTF7(l); err == nil {
				l = d
			}
		}
		levels[i] = l
	}
	return strings.Join(levels, "/")
}

// escapeDovecotLevel escapes a modified UTF-7 level as MboxDovecotPath
// says; with high, it escapes bytes outside printable ASCII too.
func escapeDovecotLevel(s string, high bool) string {
	if s == "" {
		return "%"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		suffixDot := false
		if c == '.' {
			for _, suf := range []string{".mbox", ".sbd", ".msf", ".lock"} {
				if s[i:] == suf {
					suffixDot = true
				}
			}
		}
		if c == '%' || suffixDot || (i == 0 && (c == '.' || c == '~')) || (high && (c < 0x20 || c > 0x7e)) {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
