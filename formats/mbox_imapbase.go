package formats

import (
	"bufio"
	"bytes"
	"io"
	"slices"
	"strconv"
	"strings"
)

// MboxIMAPBase is the X-IMAPbase header field that Dovecot's mbox driver
// (like UW-IMAP and Pine) keeps in the first message of an mbox file:
//
//	X-IMAPbase: <UIDVALIDITY> <last UID, 10 digits> <keyword> <keyword>…
//
// Dovecot 2.3 takes a message's X-Keywords only when every keyword in it is
// listed there; otherwise it takes the header for one the message brought
// along, ignores it, and drops it when it next rewrites the file. So a file
// whose messages carry keywords needs the field, listing all of them.
//
// MboxWriter writes the field into the first message of a file, padded
// with spaces (which Dovecot skips) so that keywords later messages bring
// can be added in place, without moving a byte of the file: With gives the
// new value, exactly as long as the old one. mailferry's reader removes the
// field like the other store headers, and never reads its list: the flags
// of a message are in its own headers.
type MboxIMAPBase struct {
	UIDValidity uint32
	LastUID     string // as found; mailferry writes 0000000000 and Dovecot counts from there
	Keywords    []string
	// Offset is where the field's value starts in the file, and Room how
	// many bytes it has up to the end of its line: what a new value may
	// fill. Both are zero for a field not yet written.
	Offset int64
	Room   int
}

// mboxIMAPBaseField is the field's name as mailferry writes it; readers
// match it without regard to case.
const mboxIMAPBaseField = "X-IMAPbase"

// mboxIMAPBaseRoom is the width of the value mailferry writes: room for a
// few dozen keywords, in a line well under the 998 bytes RFC 5322 allows.
const mboxIMAPBaseRoom = 256

// NewMboxIMAPBase is the field for a new file listing keywords (those an
// X-Keywords header can carry; the others are left out, as the writer
// leaves them out of X-Keywords).
func NewMboxIMAPBase(uidValidity uint32, keywords []string) MboxIMAPBase {
	if uidValidity == 0 {
		uidValidity = 1 // Dovecot takes 0 for a broken field
	}
	b := MboxIMAPBase{UIDValidity: uidValidity, LastUID: "0000000000"}
	b.Keywords = b.Missing(keywords)
	return b
}

// Missing returns the keywords of flags (in their order, without
// duplicates) that the field does not list.
func (b MboxIMAPBase) Missing(flags []string) []string {
	var out []string
	for _, f := range flags {
		if MboxKeywordOK(f) && !slices.Contains(b.Keywords, f) && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// With returns the field listing keywords too, and the value to write at
// its Offset: exactly Room bytes, the list padded with spaces. ok is false
// when the longer list does not fit in the room the field has.
func (b MboxIMAPBase) With(keywords []string) (nb MboxIMAPBase, value []byte, ok bool) {
	nb = b
	nb.Keywords = append(slices.Clip(b.Keywords), b.Missing(keywords)...)
	v := nb.list()
	if len(v) > b.Room {
		return b, nil, false
	}
	return nb, append([]byte(v), bytes.Repeat([]byte(" "), b.Room-len(v))...), true
}

// list is the field's value without padding.
func (b MboxIMAPBase) list() string {
	parts := append([]string{strconv.FormatUint(uint64(b.UIDValidity), 10), b.LastUID}, b.Keywords...)
	return strings.Join(parts, " ")
}

// line is the whole header line MboxWriter writes, its value padded to
// mboxIMAPBaseRoom (or, for a long list, to twice its length), and where
// the value starts in it.
func (b MboxIMAPBase) line() (line string, valueAt int) {
	v := b.list()
	width := mboxIMAPBaseRoom
	if len(v) > width/2 {
		width = 2 * len(v)
	}
	prefix := mboxIMAPBaseField + ": "
	return prefix + v + strings.Repeat(" ", width-len(v)) + "\n", len(prefix)
}

// ReadMboxIMAPBase finds the X-IMAPbase field of the first message of the
// mbox file ra of size bytes: a one-line field in its header, as Dovecot
// reads it. ok is false when there is none, or it is not well formed.
func ReadMboxIMAPBase(ra io.ReaderAt, size int64) (b MboxIMAPBase, ok bool, err error) {
	br := bufio.NewReader(io.NewSectionReader(ra, 0, size))
	var pos int64
	for first := true; ; first = false {
		// A line of any length; only the start of a long one is kept,
		// which is enough to tell it is not the field.
		start := pos
		var line []byte
		long := false
		for {
			chunk, rerr := br.ReadSlice('\n')
			pos += int64(len(chunk))
			if rerr == bufio.ErrBufferFull {
				if line == nil {
					line = append([]byte(nil), chunk[:64]...)
				}
				long = true
				continue
			}
			if rerr != nil && rerr != io.EOF {
				return b, false, rerr
			}
			if !long {
				line = append([]byte(nil), chunk...) // Peek below may move the buffer
			}
			if rerr == io.EOF && (len(chunk) == 0 || chunk[len(chunk)-1] != '\n') {
				return b, false, nil // the header ends without the field
			}
			break
		}
		text := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if first {
			if !bytes.HasPrefix(line, []byte(fromPrefix)) {
				return b, false, nil
			}
			continue
		}
		if len(text) == 0 && !long {
			return b, false, nil // end of the header
		}
		name, value, found := bytes.Cut(text, []byte(":"))
		if long || !found || !strings.EqualFold(string(name), mboxIMAPBaseField) {
			continue
		}
		// A continuation line would not be rewritten in place.
		if next, _ := br.Peek(1); len(next) == 1 && (next[0] == ' ' || next[0] == '\t') {
			return b, false, nil
		}
		lead := len(value) - len(bytes.TrimLeft(value, " \t"))
		// Separated by spaces and tabs, as Dovecot reads it.
		fields := strings.FieldsFunc(string(value), func(r rune) bool { return r == ' ' || r == '\t' })
		if len(fields) < 2 || bytes.IndexByte(value, '\r') >= 0 {
			return b, false, nil
		}
		uv, perr := strconv.ParseUint(fields[0], 10, 32)
		if perr != nil || uv == 0 {
			return b, false, nil
		}
		b = MboxIMAPBase{UIDValidity: uint32(uv), LastUID: fields[1], Keywords: fields[2:],
			Offset: start + int64(len(name)) + 1 + int64(lead), Room: len(value) - lead}
		return b, true, nil
	}
}
