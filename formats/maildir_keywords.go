package formats

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// MaildirKeywordsFile is the name of Dovecot's per-folder keyword table.
const MaildirKeywordsFile = "dovecot-keywords"

// MaxMaildirKeywords is how many keywords one Maildir folder can hold: one
// per lower-case letter a..z.
const MaxMaildirKeywords = 26

// MaildirKeywords is a folder's dovecot-keywords table: the keyword for each
// letter, index 0 for 'a' through 25 for 'z'; "" marks a free letter. The
// file holds one "<index> <keyword>" line per used letter. The zero value is
// an empty table; a nil *MaildirKeywords knows no keywords.
type MaildirKeywords [MaxMaildirKeywords]string

// ParseMaildirKeywords reads a dovecot-keywords file. Like Dovecot, it skips
// lines it cannot use (no space, a control character, an index that is not a number below 26, an
// empty keyword, a keyword already listed, a letter already taken) and
// returns a description of each in skipped, so a caller can warn.
func ParseMaildirKeywords(data []byte) (kw MaildirKeywords, skipped []string) {
	for n, line := range bytes.Split(data, []byte("\n")) {
		l := strings.TrimSuffix(string(line), "\r")
		if l == "" {
			continue
		}
		idx, name, ok := strings.Cut(l, " ")
		i, err := strconv.Atoi(idx)
		switch {
		case !ok:
			skipped = append(skipped, fmt.Sprintf("line %d %q: no space", n+1, l))
		case err != nil || i < 0 || i >= MaxMaildirKeywords || idx != strconv.Itoa(i):
			skipped = append(skipped, fmt.Sprintf("line %d %q: index is not a number from 0 to 25", n+1, l))
		case name == "":
			skipped = append(skipped, fmt.Sprintf("line %d %q: empty keyword", n+1, l))
		case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			skipped = append(skipped, fmt.Sprintf("line %d %q: control character in keyword", n+1, l))
		case kw[i] != "":
			skipped = append(skipped, fmt.Sprintf("line %d %q: letter %c already names %q", n+1, l, 'a'+i, kw[i]))
		case kw.index(name, false) >= 0:
			skipped = append(skipped, fmt.Sprintf("line %d %q: keyword listed twice", n+1, l))
		default:
			kw[i] = name
		}
	}
	return kw, skipped
}

// Marshal returns the file form of the table, lines in letter order.
func (kw *MaildirKeywords) Marshal() []byte {
	var b bytes.Buffer
	for i, k := range kw {
		if k != "" {
			fmt.Fprintf(&b, "%d %s\n", i, k)
		}
	}
	return b.Bytes()
}

// index finds keyword k: an exact match first, then (unless exact) one that
// differs only in case, since IMAP keywords compare case-insensitively.
func (kw *MaildirKeywords) index(k string, exact bool) int {
	if kw == nil {
		return -1
	}
	for i, v := range kw {
		if v != "" && v == k {
			return i
		}
	}
	if exact {
		return -1
	}
	for i, v := range kw {
		if v != "" && strings.EqualFold(v, k) {
			return i
		}
	}
	return -1
}

// Letter returns the letter of keyword k, if the table has it.
func (kw *MaildirKeywords) Letter(k string) (byte, bool) {
	if i := kw.index(k, false); i >= 0 {
		return byte('a' + i), true
	}
	return 0, false
}

// Keyword returns the keyword of a lower-case letter, if it is used.
func (kw *MaildirKeywords) Keyword(letter byte) (string, bool) {
	if kw == nil || letter < 'a' || letter > 'z' || kw[letter-'a'] == "" {
		return "", false
	}
	return kw[letter-'a'], true
}

// Add returns the letter of keyword k, giving it the first free letter when
// the table does not have it yet. ok is false when all 26 letters are taken.
func (kw *MaildirKeywords) Add(k string) (letter byte, added, ok bool) {
	if l, found := kw.Letter(k); found {
		return l, false, true
	}
	for i, v := range kw {
		if v == "" {
			kw[i] = k
			return byte('a' + i), true, true
		}
	}
	return 0, false, false
}
