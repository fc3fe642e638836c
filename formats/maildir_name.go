package formats

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A Maildir file name is "<unique>[,S=<size>][,W=<wire size>][:2,<letters>]".
// The unique part (up to the ':') never changes while the message lives; the
// letters after ":2," are the flags, upper-case for the six Maildir flags and
// lower-case for keywords numbered in the folder's dovecot-keywords file.
// Dovecot adds S= (the file's size) and W= (its size with CRLF line endings,
// which it reports as RFC822.SIZE); other programs use ';' instead of ':' on
// file systems that forbid colons.

// MaildirName is a Maildir file name taken apart.
type MaildirName struct {
	// Unique is everything before the info separator, including any S= and
	// W= fields: the message's identity in its folder (Message.ID).
	Unique string
	// Size is the S= field, or -1 when the name has none.
	Size int64
	// WireSize is the W= field, or -1 when the name has none.
	WireSize int64
	// HasInfo reports whether the name carries ":2," flag info.
	HasInfo bool
	// Flags are the IMAP flags of the upper-case letters, sorted.
	Flags []string
	// Keywords are the lower-case keyword letters in the order they appear,
	// without repeats; a folder's MaildirKeywords maps them to names.
	Keywords []byte
	// Unknown are other letters that name no flag mailferry knows.
	Unknown []byte
}

// ParseMaildirName takes a Maildir file name apart. It accepts names of any
// program: without info, with ';' as separator, with experimental ":1,"
// info (no flags then), with sizes absent or malformed (then -1). It fails
// only on names that cannot be a message file: empty, hidden (leading '.'),
// or holding '/' or NUL.
func ParseMaildirName(name string) (MaildirName, error) {
	if name == "" {
		return MaildirName{}, errors.New("empty Maildir file name")
	}
	if name[0] == '.' {
		return MaildirName{}, fmt.Errorf("file name %q is hidden, not a Maildir message", name)
	}
	if strings.ContainsAny(name, "/\x00") {
		return MaildirName{}, fmt.Errorf("file name %q contains '/' or NUL, not a Maildir message", name)
	}
	n := MaildirName{Unique: name, Size: -1, WireSize: -1}
	info, hasSep := "", false
	if i := strings.IndexByte(name, ':'); i >= 0 {
		n.Unique, info, hasSep = name[:i], name[i+1:], true
	} else if i := strings.LastIndex(name, ";2,"); i >= 0 {
		n.Unique, info, hasSep = name[:i], name[i+1:], true
	}
	if n.Unique == "" {
		return MaildirName{}, fmt.Errorf("file name %q has no unique part before the info separator", name)
	}
	for _, field := range strings.Split(n.Unique, ",")[1:] {
		if v, ok := strings.CutPrefix(field, "S="); ok {
			n.Size = parseMaildirSize(v)
		} else if v, ok := strings.CutPrefix(field, "W="); ok {
			n.WireSize = parseMaildirSize(v)
		}
	}
	if hasSep && strings.HasPrefix(info, "2,") {
		n.HasInfo = true
		letters := info[2:]
		if i := strings.IndexByte(letters, ','); i >= 0 {
			letters = letters[:i]
		}
		var flags []string
		var seen [256]bool
		for i := 0; i < len(letters); i++ {
			c := letters[i]
			if seen[c] {
				continue
			}
			seen[c] = true
			switch {
			case c >= 'a' && c <= 'z':
				n.Keywords = append(n.Keywords, c)
			default:
				if f, ok := MaildirFlag(c); ok {
					flags = append(flags, f)
				} else {
					n.Unknown = append(n.Unknown, c)
				}
			}
		}
		if len(flags) > 0 {
			n.Flags = NormalizeFlags(flags)
		}
	}
	return n, nil
}

// parseMaildirSize reads a non-negative decimal size, or returns -1.
func parseMaildirSize(v string) int64 {
	if v == "" || len(v) > 18 {
		return -1
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return -1
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// FlagsWith returns the message's IMAP flags: the system flags plus the
// keywords its letters name in kw (nil kw: no keywords). Letters kw does not
// know are returned in unknown, so a reader can warn about them.
func (n MaildirName) FlagsWith(kw *MaildirKeywords) (flags []string, unknown []byte) {
	flags = append(flags, n.Flags...)
	for _, c := range n.Keywords {
		if k, ok := kw.Keyword(c); ok {
			flags = append(flags, k)
		} else {
			unknown = append(unknown, c)
		}
	}
	return NormalizeFlags(flags), unknown
}

// MaildirFlagLetters splits IMAP flags into the upper-case letters of those
// that have one ($Forwarded is 'P') and the rest, which need keyword letters.
// \Recent is dropped; the keywords are canonical and without repeats.
func MaildirFlagLetters(flags []string) (letters []byte, keywords []string) {
	for _, f := range NormalizeFlags(flags) {
		if c, ok := MaildirLetter(f); ok {
			letters = append(letters, c)
		} else {
			keywords = append(keywords, f)
		}
	}
	return letters, keywords
}

// MaildirFilename builds "<unique>[,S=<size>][,W=<wire>]:2,<letters>" with
// the letters sorted by ASCII code and without repeats, as the Maildir
// specification and Dovecot require. A negative size or wire size is left
// out.
func MaildirFilename(unique string, size, wireSize int64, letters []byte) string {
	var b strings.Builder
	b.WriteString(unique)
	if size >= 0 {
		b.WriteString(",S=")
		b.WriteString(strconv.FormatInt(size, 10))
	}
	if wireSize >= 0 {
		b.WriteString(",W=")
		b.WriteString(strconv.FormatInt(wireSize, 10))
	}
	b.WriteString(":2,")
	sorted := append([]byte(nil), letters...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	for i, c := range sorted {
		if i > 0 && c == sorted[i-1] {
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// MaildirUnique holds what makes a new message's unique name unique, in the
// modern form of the Maildir specification that Dovecot reads:
// "<sec>.M<usec>P<pid>Q<counter>R<random>.<host>".
type MaildirUnique struct {
	Time    time.Time
	PID     int
	Counter uint64 // deliveries so far by this process
	Random  uint64
	Host    string
}

// String returns the unique name. The host has '/' written as "\057" and
// ':' as "\072", so it can stand in a file name before the info separator;
// an empty host becomes "localhost".
func (u MaildirUnique) String() string {
	return fmt.Sprintf("%d.M%dP%dQ%dR%016x.%s", u.Time.Unix(), u.Time.Nanosecond()/1000,
		u.PID, u.Counter, u.Random, EscapeMaildirHost(u.Host))
}

// EscapeMaildirHost escapes a host name for a Maildir unique name.
func EscapeMaildirHost(host string) string {
	if host == "" {
		return "localhost"
	}
	return strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
}
