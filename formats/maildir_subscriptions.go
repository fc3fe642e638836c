package formats

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Dovecot keeps a Maildir's subscriptions in a file "subscriptions" at its
// root. Version 2 (Dovecot 2.3, checked against its own output) is the line
// "V\t2", an empty line, then one folder a line with its levels separated
// by a tab: "V\t2\n\nWork\tSub\nINBOX\n". Older versions wrote the names
// with the hierarchy separator instead and no header.

// MaildirSubscriptionsFile is the file's name at the Maildir's root.
const MaildirSubscriptionsFile = "subscriptions"

const subscriptionsHeader = "V\t2\n\n"

// ParseMaildirSubscriptions reads a subscriptions file into folder names
// ("/"-separated, as transfer names them; sep is the separator of the
// older format, '.' for Maildir++). ok is false for content it cannot
// read: a header of another version, invalid UTF-8 or control characters,
// which leave subscriptions unknown rather than guessed.
func ParseMaildirSubscriptions(b []byte, sep byte) (folders []string, ok bool) {
	levelSep := string(sep)
	if bytes.HasPrefix(b, []byte(subscriptionsHeader)) {
		b = b[len(subscriptionsHeader):]
		levelSep = "\t"
	} else if bytes.HasPrefix(b, []byte("V\t")) {
		return nil, false
	}
	if !utf8.Valid(b) {
		return nil, false
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		levels := strings.Split(line, levelSep)
		for _, l := range levels {
			if l == "" || strings.ContainsAny(l, "/\r") || strings.ContainsFunc(l, isControl) {
				return nil, false
			}
		}
		name := strings.Join(levels, "/")
		if strings.EqualFold(name, "INBOX") {
			name = "INBOX"
		}
		if !seen[name] {
			seen[name] = true
			folders = append(folders, name)
		}
	}
	return folders, true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// FormatMaildirSubscriptions writes folders ("/"-separated) as a version 2
// subscriptions file, in the order given.
func FormatMaildirSubscriptions(folders []string) []byte {
	var b strings.Builder
	b.WriteString(subscriptionsHeader)
	for _, f := range folders {
		b.WriteString(strings.ReplaceAll(f, "/", "\t"))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}
