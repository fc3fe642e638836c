package pop3

import (
	"bytes"
	"net/mail"
	"strings"
	"time"

	"github.com/mailferry/mailferry/formats"
)

// MessageDate returns the best arrival time a message carries in its
// header, since POP3 has no INTERNALDATE: the date of the topmost Received:
// field (added by the last server, the one that delivered it to the
// maildrop), else the Date: field, else the zero time. A field whose date
// does not parse, or lies before 1970 or after 9999, is passed over.
//
// msg may be the whole message or only its header block, with LF or CRLF
// line endings.
func MessageDate(msg []byte) time.Time {
	var date time.Time
	received := false
	forEachField(msg[:formats.HeaderEnd(msg)], func(name, value string) bool {
		switch {
		case strings.EqualFold(name, "Received") && !received:
			received = true // only the topmost Received: counts
			_, when, ok := cutLast(value, ";")
			if !ok {
				return true
			}
			if t, ok := parseDate(when); ok {
				date = t
				return false
			}
		case strings.EqualFold(name, "Date") && date.IsZero():
			if t, ok := parseDate(value); ok {
				date = t // keep looking: a Received: below Date: still wins
			}
		}
		return true
	})
	return date
}

// forEachField calls fn with every unfolded header field until fn returns
// false. Lines that are not fields (no colon) are skipped.
func forEachField(header []byte, fn func(name, value string) bool) {
	var name string
	var value strings.Builder
	have := false
	flush := func() bool {
		if !have {
			return true
		}
		have = false
		return fn(name, value.String())
	}
	for len(header) > 0 {
		line := header
		if i := bytes.IndexByte(header, '\n'); i >= 0 {
			line, header = header[:i], header[i+1:]
		} else {
			header = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if have {
				value.WriteByte(' ')
				value.Write(bytes.TrimSpace(line))
			}
			continue
		}
		if !flush() {
			return
		}
		n, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = string(bytes.TrimSpace(n))
		value.Reset()
		value.Write(bytes.TrimSpace(v))
		have = true
	}
	flush()
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// parseDate parses an RFC 5322 date, also with a trailing comment such as
// "(UTC)" and with the obsolete forms net/mail accepts.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	t, err := mail.ParseDate(s)
	if err != nil {
		// Drop a trailing comment and try again.
		if i := strings.LastIndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") {
			t, err = mail.ParseDate(strings.TrimSpace(s[:i]))
		}
		if err != nil {
			return time.Time{}, false
		}
	}
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, false
	}
	return t, true
}
