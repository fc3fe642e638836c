package formats

import (
	"sort"
	"strings"
)

// IMAP system flags and the keywords mailferry maps to store-specific forms.
const (
	FlagSeen      = `\Seen`
	FlagAnswered  = `\Answered`
	FlagFlagged   = `\Flagged`
	FlagDraft     = `\Draft`
	FlagDeleted   = `\Deleted`
	FlagRecent    = `\Recent`
	FlagForwarded = "$Forwarded"
)

var systemFlags = map[string]string{
	`\seen`:      FlagSeen,
	`\answered`:  FlagAnswered,
	`\flagged`:   FlagFlagged,
	`\draft`:     FlagDraft,
	`\deleted`:   FlagDeleted,
	`\recent`:    FlagRecent,
	"$forwarded": FlagForwarded,
}

// CanonicalFlag spells system flags (which IMAP compares case-insensitively)
// and $Forwarded the one way mailferry uses; keywords are left as they are.
func CanonicalFlag(f string) string {
	if c, ok := systemFlags[strings.ToLower(f)]; ok {
		return c
	}
	return f
}

// NormalizeFlags returns flags canonical, sorted, without duplicates, empty
// strings or \Recent (which no client may set).
func NormalizeFlags(flags []string) []string {
	seen := make(map[string]bool, len(flags))
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		f = CanonicalFlag(strings.TrimSpace(f))
		if f == "" || f == FlagRecent || seen[f] {
			continue
		}
		seen[f] = true
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// maildirLetters is the Maildir info ":2," letter for each flag, in the
// order the Maildir specification sorts them.
var maildirLetters = []struct {
	letter byte
	flag   string
}{
	{'D', FlagDraft},
	{'F', FlagFlagged},
	{'P', FlagForwarded},
	{'R', FlagAnswered},
	{'S', FlagSeen},
	{'T', FlagDeleted},
}

// MaildirLetter returns the ":2," letter for an IMAP flag, if it has one.
func MaildirLetter(flag string) (byte, bool) {
	flag = CanonicalFlag(flag)
	for _, m := range maildirLetters {
		if m.flag == flag {
			return m.letter, true
		}
	}
	return 0, false
}

// MaildirFlag returns the IMAP flag for an upper-case ":2," letter.
// Lower-case letters are Dovecot keywords (see MaildirKeywords).
func MaildirFlag(letter byte) (string, bool) {
	for _, m := range maildirLetters {
		if m.letter == letter {
			return m.flag, true
		}
	}
	return "", false
}

// IsSystemFlag reports whether f is an IMAP system flag (starts with \).
func IsSystemFlag(f string) bool { return strings.HasPrefix(f, `\`) }

// ValidKeyword reports whether k can be sent to an IMAP server as a keyword:
// a non-empty atom (RFC 3501 atom-char) not starting with \.
func ValidKeyword(k string) bool {
	if k == "" || k[0] == '\\' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
		switch c {
		case '(', ')', '{', '%', '*', '"', '\\', ']':
			return false
		}
	}
	return true
}
