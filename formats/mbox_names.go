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
