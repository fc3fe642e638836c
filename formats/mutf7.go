package formats

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 (RFC 3501 §5.1.3) is how IMAP servers and Dovecot's
// Maildir++ directories spell non-ASCII folder names: printable US-ASCII
// stands for itself except '&', which is written "&-"; every other run of
// characters is UTF-16, base64-encoded with ',' for '/' and no padding,
// between '&' and '-'.

const mutf7Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

// mutf7Values maps a byte to its base64 value, or -1.
var mutf7Values = func() [256]int8 {
	var v [256]int8
	for i := range v {
		v[i] = -1
	}
	for i := 0; i < len(mutf7Alphabet); i++ {
		v[mutf7Alphabet[i]] = int8(i)
	}
	return v
}()

// MUTF7Error reports where and why a modified UTF-7 string is invalid.
type MUTF7Error struct {
	Input  string
	Offset int // byte offset in Input where the problem starts
	Reason string
}

func (e *MUTF7Error) Error() string {
	return fmt.Sprintf("invalid modified UTF-7 %q at byte %d: %s", e.Input, e.Offset, e.Reason)
}

// directASCII reports whether r is printable US-ASCII, which modified UTF-7
// writes as itself ('&' becomes "&-").
func directASCII(r rune) bool { return r >= 0x20 && r <= 0x7e }

// EncodeMUTF7 returns the modified UTF-7 form of the UTF-8 string s. It
// fails only when s is not valid UTF-8.
func EncodeMUTF7(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("encode modified UTF-7: %q is not valid UTF-8", s)
	}
	var b strings.Builder
	var run []uint16
	flush := func() {
		if len(run) == 0 {
			return
		}
		b.WriteByte('&')
		var bits uint32
		n := 0
		for _, u := range run {
			bits = bits<<16 | uint32(u)
			n += 16
			for n >= 6 {
				n -= 6
				b.WriteByte(mutf7Alphabet[(bits>>n)&0x3f])
			}
		}
		if n > 0 {
			b.WriteByte(mutf7Alphabet[(bits<<(6-n))&0x3f])
		}
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if directASCII(r) {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			run = append(run, uint16(r1), uint16(r2))
		} else {
			run = append(run, uint16(r))
		}
	}
	flush()
	return b.String(), nil
}

// DecodeMUTF7 returns the UTF-8 form of the modified UTF-7 string s. It is
// strict: it accepts only what EncodeMUTF7 produces, so a successful decode
// re-encodes to exactly s. It rejects bytes outside printable ASCII, an
// unterminated or empty shift, characters outside the modified base64
// alphabet, leftover or non-zero padding bits, unpaired surrogates, printable
// ASCII hidden in base64, and two encoded runs not separated by ASCII.
func DecodeMUTF7(s string) (string, error) {
	fail := func(off int, format string, args ...any) (string, error) {
		return "", &MUTF7Error{Input: s, Offset: off, Reason: fmt.Sprintf(format, args...)}
	}
	var b strings.Builder
	afterRun := false // the previous token was an encoded run
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return fail(i, "byte 0x%02x is not printable ASCII", c)
		}
		if c != '&' {
			b.WriteByte(c)
			afterRun = false
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '-' {
			b.WriteByte('&')
			afterRun = false
			i += 2
			continue
		}
		if afterRun {
			return fail(i, "two encoded runs must be written as one")
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return fail(i, "'&' starts an encoded run that has no closing '-'")
		}
		runStart := i + 1
		run := s[runStart : runStart+end]
		var units []uint16
		var bits uint32
		n := 0
		for j := 0; j < len(run); j++ {
			v := mutf7Values[run[j]]
			if v < 0 {
				return fail(runStart+j, "byte %q is not in the modified base64 alphabet", run[j])
			}
			bits = bits<<6 | uint32(v)
			n += 6
			if n >= 16 {
				n -= 16
				units = append(units, uint16(bits>>n))
				bits &= 1<<n - 1
			}
		}
		if n >= 6 {
			return fail(runStart+len(run)-1, "encoded run has a stray base64 character")
		}
		if bits != 0 {
			return fail(runStart+len(run)-1, "encoded run has non-zero padding bits")
		}
		if len(units) == 0 {
			return fail(i, "encoded run is empty")
		}
		for k := 0; k < len(units); k++ {
			u := rune(units[k])
			switch {
			case utf16.IsSurrogate(u):
				if u >= 0xdc00 || k+1 >= len(units) {
					return fail(i, "unpaired UTF-16 surrogate 0x%04x", u)
				}
				r := utf16.DecodeRune(u, rune(units[k+1]))
				if r == utf8.RuneError {
					return fail(i, "invalid UTF-16 surrogate pair 0x%04x 0x%04x", u, units[k+1])
				}
				b.WriteRune(r)
				k++
			case directASCII(u):
				return fail(i, "printable ASCII %q must not be encoded", u)
			default:
				b.WriteRune(u)
			}
		}
		afterRun = true
		i = runStart + end + 1
	}
	return b.String(), nil
}
