package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// safeText escapes what could forge or hide output in a terminal or a log:
// control characters (a newline in a Maildir file name would start a line
// of its own, ESC a terminal escape sequence), Unicode line separators and
// bidirectional overrides, and invalid UTF-8. They come from the stores
// (folder and file names, header fields), so every line of text output
// built from them passes through here; printable text, non-ASCII letters
// included, is left alone. JSON output needs none of this: encoding/json
// escapes control characters itself.
func safeText(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unsafeRune(r):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\t' || unsafeRune(r) {
			return true
		}
		i += size
	}
	return false
}

// unsafeRune reports the characters safeText escapes: C0 and C1 controls,
// DEL, the line and paragraph separators and the bidirectional controls.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	case r >= 0x200e && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// safeError is the text of an error that ends a command. A usage error may
// span lines on purpose (the valid endpoint forms), and what it quotes was
// typed by the user, so its line breaks are kept; any other error may
// carry store data and is one escaped line.
func safeError(err error) string {
	var ue *usageError
	if !errors.As(err, &ue) {
		return safeText(err.Error())
	}
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = safeText(l)
	}
	return strings.Join(lines, "\n")
}
