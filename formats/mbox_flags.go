package formats

import (
	"strconv"
	"strings"
)

// The mbox flag headers, as mutt, pine and Dovecot read and write them:
//
//	Status:     R = \Seen, O = old (no longer \Recent)
//	X-Status:   A = \Answered, F = \Flagged, T = \Draft, D = \Deleted
//	X-Keywords: other keywords, $Forwarded included, separated by spaces
var mboxXStatusLetters = []struct {
	letter byte
	flag   string
}{
	{'A', FlagAnswered},
	{'F', FlagFlagged},
	{'T', FlagDraft},
	{'D', FlagDeleted},
}

// Thunderbird's X-Mozilla-Status bits that carry IMAP flags (its
// nsMsgMessageFlags). Bit 0x0008, Expunged, is not a flag: Thunderbird has
// deleted the message and only not yet compacted the file
// (mozillaExpunged).
var mozillaStatusBits = flagBits{
	{0x1, FlagSeen},
	{0x2, FlagAnswered},
	{0x4, FlagFlagged},
	{0x1000, FlagForwarded},
}

// mozillaExpungedBit is X-Mozilla-Status's Expunged bit.
const mozillaExpungedBit = 0x8

// mozillaStatus2Deleted is X-Mozilla-Status2's IMAP-deleted bit (0x00200000,
// MSG_FLAG_IMAP_DELETED): the message is marked \Deleted on the server.
const mozillaStatus2Deleted = 0x00200000

// Evolution's X-Evolution header ("uid-flags", both hex) carries Camel's
// message flags in its second part.
var evolutionBits = flagBits{
	{0x1, FlagAnswered},
	{0x2, FlagDeleted},
	{0x4, FlagDraft},
	{0x8, FlagFlagged},
	{0x10, FlagSeen},
}

// MboxKeywordOK reports whether keyword k can be kept in an X-Keywords
// header: not empty, no white space, commas or control characters (mbox
// programs separate keywords by spaces or commas), and not a system flag
// (those start with a backslash).
func MboxKeywordOK(k string) bool {
	if k == "" || k[0] == '\\' {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] == 0x7f || k[i] == ',' {
			return false
		}
	}
	return true
}

// mboxFlagValues renders flags as the values of Status, X-Status and
// X-Keywords. Status always holds O. bad lists flags that cannot be kept.
func mboxFlagValues(flags []string) (status, xstatus, keywords string, bad []string) {
	status = "O"
	var kw []string
	set := map[string]bool{}
	for _, f := range NormalizeFlags(flags) {
		set[f] = true
		switch {
		case f == FlagSeen:
			status = "RO"
		case isXStatusFlag(f):
		case MboxKeywordOK(f):
			kw = append(kw, f)
		default:
			bad = append(bad, f)
		}
	}
	var xs []byte
	for _, l := range mboxXStatusLetters {
		if set[l.flag] {
			xs = append(xs, l.letter)
		}
	}
	return status, string(xs), strings.Join(kw, " "), bad
}

func isXStatusFlag(f string) bool {
	for _, l := range mboxXStatusLetters {
		if l.flag == f {
			return true
		}
	}
	return false
}

// statusFlags reads a Status value. ok is false if it holds a letter
// mailferry does not know (the strict reading used for its own frame).
func statusFlags(v string) (flags []string, ok bool) {
	ok = true
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case 'R':
			flags = append(flags, FlagSeen)
		case 'O':
		default:
			ok = false
		}
	}
	return flags, ok
}

// xStatusFlags reads an X-Status value; ok as for statusFlags.
func xStatusFlags(v string) (flags []string, ok bool) {
	ok = true
next:
	for i := 0; i < len(v); i++ {
		for _, l := range mboxXStatusLetters {
			if v[i] == l.letter {
				flags = append(flags, l.flag)
				continue next
			}
		}
		ok = false
	}
	return flags, ok
}

// keywordList splits an X-Keywords or X-Mozilla-Keys value. Foreign files
// separate keywords by spaces or commas.
func keywordList(v string, commas bool) []string {
	sep := func(r rune) bool { return r == ' ' || r == '\t' || (commas && r == ',') }
	var out []string
	for _, k := range strings.FieldsFunc(v, sep) {
		if MboxKeywordOK(k) {
			out = append(out, k)
		}
	}
	return out
}

// mozillaStatusFlags reads Thunderbird's X-Mozilla-Status (four hex digits).
func mozillaStatusFlags(v string) []string {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 32)
	if err != nil {
		return nil
	}
	return mozillaStatusBits.flags(n)
}

// flagBits maps the bits of a store's flag word to IMAP flags.
type flagBits []struct {
	bit  uint64
	flag string
}

// flags returns the flags of the bits set in n.
func (fb flagBits) flags(n uint64) []string {
	var flags []string
	for _, b := range fb {
		if n&b.bit != 0 {
			flags = append(flags, b.flag)
		}
	}
	return flags
}

// mozillaExpunged reports whether an X-Mozilla-Status value has the
// Expunged bit.
func mozillaExpunged(v string) bool {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 32)
	return err == nil && n&mozillaExpungedBit != 0
}

// mozillaStatus2Flags reads X-Mozilla-Status2 (eight hex digits), of which
// only the IMAP-deleted bit is a flag.
func mozillaStatus2Flags(v string) []string {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 32)
	if err != nil || n&mozillaStatus2Deleted == 0 {
		return nil
	}
	return []string{FlagDeleted}
}

// evolutionFlags reads Evolution's X-Evolution value, "%08x-%04x" (uid and
// flags), possibly followed by more.
func evolutionFlags(v string) []string {
	word, _, _ := strings.Cut(strings.TrimSpace(v), " ")
	_, hexFlags, ok := strings.Cut(word, "-")
	n, err := strconv.ParseUint(hexFlags, 16, 32)
	if !ok || err != nil {
		return nil
	}
	return evolutionBits.flags(n)
}

// foreignFlags extracts flags from a store header of a foreign mbox file.
// name is lower case. It reports whether the field is a store header, which
// the reader removes from the message.
func foreignFlags(name, value string) (flags []string, store bool) {
	value = strings.TrimSpace(value)
	switch name {
	case "status":
		f, _ := statusFlags(strings.ToUpper(value))
		return f, true
	case "x-status":
		f, _ := xStatusFlags(strings.ToUpper(value))
		return f, true
	case "x-keywords":
		return keywordList(value, true), true
	case "x-mozilla-status":
		return mozillaStatusFlags(value), true
	case "x-mozilla-keys":
		return keywordList(value, false), true
	case "x-mozilla-status2":
		return mozillaStatus2Flags(value), true
	case "x-evolution":
		return evolutionFlags(value), true
	}
	// A Content-Length is the store's only where it frames the message
	// (mboxcl2); the reader decides that.
	return nil, isMboxStoreHeader(name) && name != "content-length"
}

// mboxStoreHeaders are the header fields mbox programs keep their own
// bookkeeping in (lower case): flags, framing, UIDs, Thunderbird's status,
// and the frame of mailferry's old archives. The reader takes them as the
// store's, never as the message's, so a message's own copies are renamed
// when it is written (see MboxWriter).
var mboxStoreHeaders = map[string]bool{
	"status": true, "x-status": true, "x-keywords": true, "content-length": true,
	"x-uid": true, "x-imap": true, "x-imapbase": true,
	"x-mozilla-status": true, "x-mozilla-status2": true, "x-mozilla-keys": true, "x-evolution": true,
	"x-mailferry-frame": true,
}

func isMboxStoreHeader(lowerName string) bool { return mboxStoreHeaders[lowerName] }

// mboxRenamePrefix is put in front of a message's own store header field
// (and of a field already carrying it in front of a store header name), so
// no reader takes it for the store's; MboxReader removes one.
const mboxRenamePrefix = "X-Original-"

// unrenamed strips every rename prefix from a lower-case field name.
func unrenamed(lowerName string) string {
	p := strings.ToLower(mboxRenamePrefix)
	for strings.HasPrefix(lowerName, p) {
		lowerName = lowerName[len(p):]
	}
	return lowerName
}

// renamedStoreHeader reports whether a lower-case field name is a store
// header with at least one rename prefix: a message's own field that
// MboxWriter renamed.
func renamedStoreHeader(lowerName string) bool {
	base := unrenamed(lowerName)
	return base != lowerName && isMboxStoreHeader(base)
}
