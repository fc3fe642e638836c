package formats

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
)

// mboxAsctime is the date form of a From_ line (RFC 4155): asctime in UTC.
const mboxAsctime = "Mon Jan _2 15:04:05 2006"

// mboxDefaultSender is the From_ line address when a message names none.
const mboxDefaultSender = "MAILER-DAEMON"

// mboxUnknownDate is what the From_ line says when the arrival time is not
// known: the Unix epoch, which the reader turns back into a zero time.
var mboxUnknownDate = time.Unix(0, 0).UTC()

// FormatMboxFromLine returns the From_ line (with its LF) for sender and
// date. The sender is cleaned of white space and control characters and
// falls back to MAILER-DAEMON; a zero date is written as the Unix epoch. Dates
// outside the years 1 to 9999 cannot be written in asctime form.
func FormatMboxFromLine(sender string, date time.Time) (string, error) {
	if date.IsZero() {
		date = mboxUnknownDate
	}
	date = date.UTC()
	if y := date.Year(); y < 1 || y > 9999 {
		return "", fmt.Errorf("mbox: date %s cannot be written in a From_ line", date.Format(time.RFC3339))
	}
	return "From " + cleanMboxSender(sender) + " " + date.Format(mboxAsctime) + "\n", nil
}

// cleanMboxSender makes sender usable as the one-word address of a From_
// line: angle brackets, white space and control characters go, and anything
// empty, too long or looking like a weekday becomes MAILER-DAEMON.
func cleanMboxSender(sender string) string {
	sender = strings.TrimSpace(sender)
	sender = strings.TrimPrefix(sender, "<")
	sender = strings.TrimSuffix(sender, ">")
	var b strings.Builder
	for i := 0; i < len(sender); i++ {
		c := sender[i]
		if c <= ' ' || c >= 0x7f {
			continue
		}
		b.WriteByte(c)
	}
	s := b.String()
	if s == "" || len(s) > 256 || weekdayIndex(s) >= 0 {
		return mboxDefaultSender
	}
	return s
}

// ParseMboxFromLine parses a From_ line ("From " addr date, RFC 4155),
// given without its line ending. It accepts the asctime date with or
// without seconds and with the time zones and trailers real files carry
// (see parseAsctime): mutt, Pine, Thunderbird, Apple Mail, Google Takeout
// and old Unix and UUCP mailers. ok is false when line is not a From_ line.
func ParseMboxFromLine(line []byte) (sender string, date time.Time, ok bool) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if !bytes.HasPrefix(line, []byte(fromPrefix)) || len(line) > maxFromLine {
		return "", time.Time{}, false
	}
	fields := strings.Fields(string(line[len(fromPrefix):]))
	for i := 0; i+4 < len(fields) && i <= 8; i++ {
		if weekdayIndex(fields[i]) < 0 {
			continue
		}
		if d, err := parseAsctime(fields[i:]); err == nil {
			return strings.Join(fields[:i], " "), d, true
		}
	}
	return "", time.Time{}, false
}

// maxFromLine bounds what is taken for a From_ line.
const maxFromLine = 4096

var weekdays = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
var months = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func weekdayIndex(s string) int {
	for i, w := range weekdays {
		if strings.EqualFold(s, w) {
			return i
		}
	}
	return -1
}

func monthIndex(s string) int {
	for i, m := range months {
		if strings.EqualFold(s, m) {
			return i
		}
	}
	return -1
}

var errAsctime = errors.New("not an asctime date")

// parseAsctime parses "Www Mmm dd hh:mm[:ss] [ZONE...] yyyy [ZONE...]
// [remote from HOST]" from fields, which must be used up exactly. Real
// files put the zone in many places: mutt and Pine write none, old Unix
// mailers a name before the year ("MET DST 1997"), some mailers a numeric
// zone after it, and Google Takeout a numeric zone before the year
// ("+0000 2024"); UUCP mailers end the line with "remote from HOST" (RFC
// 976). A numeric zone is applied; zone names are taken as UTC, as they
// cannot be resolved reliably.
func parseAsctime(f []string) (time.Time, error) {
	if len(f) < 5 || len(f) > 12 {
		return time.Time{}, errAsctime
	}
	mon := monthIndex(f[1])
	if mon < 0 {
		return time.Time{}, errAsctime
	}
	day, ok := atoiRange(f[2], 1, 31)
	if !ok {
		return time.Time{}, errAsctime
	}
	hms := strings.Split(f[3], ":")
	if len(hms) < 2 || len(hms) > 3 {
		return time.Time{}, errAsctime
	}
	hh, ok1 := atoiRange(hms[0], 0, 23)
	mm, ok2 := atoiRange(hms[1], 0, 59)
	ss, ok3 := 0, true
	if len(hms) == 3 {
		ss, ok3 = atoiRange(hms[2], 0, 60)
	}
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, errAsctime
	}
	rest := f[4:]
	if n := len(rest); n >= 3 && rest[n-3] == "remote" && rest[n-2] == "from" {
		rest = rest[:n-3]
	}
	var (
		year, offset int
		numeric      bool
	)
	for i, tok := range rest {
		if y, ok := atoiRange(tok, 1, 9999); ok && len(tok) == 4 && year == 0 {
			year = y
			if i > 2 || len(rest)-i-1 > 2 {
				return time.Time{}, errAsctime // at most two zone words on either side
			}
			continue
		}
		if off, ok := numericZone(tok); ok {
			if numeric {
				return time.Time{}, errAsctime
			}
			offset, numeric = off, true
			continue
		}
		if !isZoneName(tok) {
			return time.Time{}, errAsctime
		}
	}
	if year == 0 {
		return time.Time{}, errAsctime
	}
	t := time.Date(year, time.Month(mon+1), day, hh, mm, ss, 0, time.UTC)
	if t.Day() != day {
		return time.Time{}, errAsctime // Feb 31 and the like
	}
	return t.Add(-time.Duration(offset) * time.Second), nil
}

func atoiRange(s string, lo, hi int) (int, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n >= lo && n <= hi
}

// numericZone parses "+hhmm" or "-hhmm" into seconds east of UTC.
func numericZone(s string) (int, bool) {
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	hh, ok1 := atoiRange(s[1:3], 0, 23)
	mm, ok2 := atoiRange(s[3:5], 0, 59)
	if !ok1 || !ok2 {
		return 0, false
	}
	off := hh*3600 + mm*60
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

// isZoneName accepts zone abbreviations such as UTC, GMT, MET.
func isZoneName(s string) bool {
	if len(s) < 1 || len(s) > 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
