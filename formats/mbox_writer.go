package formats

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"sync"
	"time"
)

// mboxFrameField is the name of the last line of the frame block that
// mailferry wrote in front of every message before version 2 of its mbox
// format. The reader still recognises it in old archives; nothing writes it.
const mboxFrameField = "X-Mailferry-Frame"

// mboxFrameVersion is the only frame version old archives hold.
const mboxFrameVersion = "1"

// MboxEnvelope is what an mbox file keeps about a message besides its bytes.
type MboxEnvelope struct {
	// Sender is the From_ line address; "" takes the message's
	// Return-Path, or MAILER-DAEMON.
	Sender string
	// Date is the arrival time, kept to the second; zero is allowed.
	Date time.Time
	// Flags use IMAP spelling; see SplitMboxFlags for what can be kept.
	Flags []string
}

// ErrMboxFlag is returned by MboxWriter for a flag an mbox file cannot keep.
var ErrMboxFlag = errors.New("mbox: flag cannot be stored")

// SplitMboxFlags separates flags an mbox file can keep (system flags other
// than \Recent, and keywords without white space or control characters) from
// those it cannot. \Recent is dropped silently: no store may set it.
func SplitMboxFlags(flags []string) (keep, drop []string) {
	for _, f := range NormalizeFlags(flags) {
		if f == FlagSeen || isXStatusFlag(f) || MboxKeywordOK(f) {
			keep = append(keep, f)
		} else {
			drop = append(drop, f)
		}
	}
	return keep, drop
}

// MboxWriter appends messages to an mbox file.
//
// It writes plain mboxrd, as mutt, Dovecot, Python's mailbox and other mbox
// readers read it, with the flags in the headers they all know:
//
//	From <sender> <Www Mmm dd hh:mm:ss yyyy>   From_ line, date = arrival time in UTC
//	<the message's header>                    its own store headers renamed (see below)
//	X-IMAPbase: 1764633600 0000000000 work    first message of a file only (WriteFirstMessage)
//	Status: RO                                always, at the end of the header; R = \Seen, O = old
//	X-Status: AFTD                            only with \Answered \Flagged \Draft \Deleted
//	X-Keywords: $Forwarded work               only with other keywords
//	<the rest of the message>                 from its blank line on
//	<LF>                                      only if the message lacks a final LF
//	<LF>                                      the blank line that separates messages
//
// Every line of the message matching ^>*From gets one more '>'. Nothing
// else is added but, in a file's first message, the X-IMAPbase list of the
// file's keywords that Dovecot needs (see MboxIMAPBase): no Content-Length
// (the quoting already frames every message, and Python's mailbox ignores
// lengths anyway) and no header only mailferry knows. A reader that drops
// the X-IMAPbase, Status, X-Status and X-Keywords lines and undoes the
// quoting has the message's bytes again.
//
// A message's own store headers (Status, X-Status, X-Keywords,
// Content-Length, X-UID, X-IMAP, X-IMAPbase, Thunderbird's X-Mozilla-Status,
// X-Mozilla-Status2 and X-Mozilla-Keys, and the X-Mailferry-Frame of old
// archives) would make other readers frame or flag it differently from what
// it is: mutt trusts a Content-Length that happens to point at a quoted
// ">From " line and shows a forged message there. Such a field is renamed
// by putting "X-Original-" in front of its name, and a field already named
// X-Original-<store header> gets one more prefix, so the renaming can be
// undone exactly, like the quoting: MboxReader removes one prefix.
//
// What the file cannot keep: a message without a final line feed gets one;
// other readers see the quoting and the renamed fields. Where the header
// ends is the first line that is "\n" or "\r\n"; a message without such a
// line gets the flag headers after its last line, and one whose first line
// is not a header field gets them before it.
//
// The sender is the message's Return-Path, or MAILER-DAEMON. A message
// without an arrival time is written with its Date: header's time, or the
// time it was written, as a Maildir stores it: the From_ line needs a date,
// and any fixed stand-in (such as the Unix epoch) would be taken for a real
// one.
//
// MboxWriter writes nothing but whole messages, so the caller decides where
// buffering and durability happen.
type MboxWriter struct {
	w io.Writer
}

// NewMboxWriter returns a writer appending to w. The caller makes sure w
// starts at the beginning of a file or after a blank line (see
// MboxAppendPrefix).
func NewMboxWriter(w io.Writer) *MboxWriter { return &MboxWriter{w: w} }

// MboxAppendPrefix returns the line feeds to write before appending a
// message to an mbox file ending in tail (its last three bytes, or all of a
// shorter file), so the new From_ line follows a blank line.
func MboxAppendPrefix(tail []byte) string {
	switch {
	case len(tail) == 0, bytes.HasSuffix(tail, []byte("\n\n")), bytes.HasSuffix(tail, []byte("\n\r\n")):
		return ""
	case tail[len(tail)-1] == '\n':
		return "\n"
	default:
		return "\n\n"
	}
}

// WriteMessage writes one message: size bytes read from msg, which is read
// twice (once for its header, once to write it). It returns the number of
// bytes written to the underlying writer. Return-Path supplies the sender
// when env.Sender is empty, and Date: the date when env.Date is zero.
func (w *MboxWriter) WriteMessage(env MboxEnvelope, msg io.ReaderAt, size int64) (int64, error) {
	n, _, err := w.writeMessage(env, nil, msg, size)
	return n, err
}

// WriteFirstMessage is WriteMessage for the first message of a file: base
// is written as its X-IMAPbase field, before the flag headers (Dovecot
// must read the list before it reads X-Keywords). It returns the field as
// written, its Offset counted from the first byte this call writes.
func (w *MboxWriter) WriteFirstMessage(env MboxEnvelope, base MboxIMAPBase, msg io.ReaderAt, size int64) (int64, MboxIMAPBase, error) {
	n, valueAt, err := w.writeMessage(env, &base, msg, size)
	line, at := base.line()
	base.Offset, base.Room = valueAt, len(line)-at-1
	return n, base, err
}

func (w *MboxWriter) writeMessage(env MboxEnvelope, base *MboxIMAPBase, msg io.ReaderAt, size int64) (int64, int64, error) {
	if _, drop := SplitMboxFlags(env.Flags); len(drop) > 0 {
		return 0, 0, fmt.Errorf("%w: %s", ErrMboxFlag, strings.Join(drop, " "))
	}
	hdr, err := scanMboxHeader(msg, size)
	if err != nil {
		return 0, 0, fmt.Errorf("mbox: reading message: %w", err)
	}
	sender := env.Sender
	if sender == "" {
		sender = hdr.returnPath
	}
	date := env.Date
	if date.IsZero() {
		date = hdr.date
	}
	if date.IsZero() {
		date = time.Now()
	}
	fromLine, err := FormatMboxFromLine(sender, date)
	if err != nil {
		return 0, 0, err
	}

	status, xstatus, keywords, _ := mboxFlagValues(env.Flags)
	var flagLines strings.Builder
	if hdr.end == size && size > 0 && !hdr.endsLF {
		flagLines.WriteString("\n") // the flag headers need a line of their own
	}
	baseAt := -1
	if base != nil {
		line, at := base.line()
		baseAt = flagLines.Len() + at
		flagLines.WriteString(line)
	}
	flagLines.WriteString("Status: " + status + "\n")
	if xstatus != "" {
		flagLines.WriteString("X-Status: " + xstatus + "\n")
	}
	if keywords != "" {
		flagLines.WriteString("X-Keywords: " + keywords + "\n")
	}
	tail := "\n"
	if hdr.end < size && !hdr.endsLF {
		tail = "\n\n"
	}

	cw := &countWriter{}
	out := io.MultiWriter(w.w, cw)
	if _, err := io.WriteString(out, fromLine); err != nil {
		return cw.n, 0, err
	}
	bufs := writeBufs.Get().(*mboxBufs)
	defer writeBufs.Put(bufs)
	f := newFromFilter(out, false)
	f.out = bufs.filtered[:0]
	defer func() { bufs.filtered = f.out[:0] }()
	var pos int64
	copyTo := func(end int64) error {
		if end > pos {
			if _, err := io.CopyBuffer(f, io.NewSectionReader(msg, pos, end-pos), bufs.copy); err != nil {
				return fmt.Errorf("mbox: writing message: %w", err)
			}
			pos = end
		}
		return nil
	}
	for _, off := range hdr.rename {
		if err := copyTo(off); err != nil {
			return cw.n, 0, err
		}
		if _, err := io.WriteString(f, mboxRenamePrefix); err != nil {
			return cw.n, 0, err
		}
	}
	if err := copyTo(hdr.end); err != nil {
		return cw.n, 0, err
	}
	if _, err := io.WriteString(f, flagLines.String()); err != nil {
		return cw.n, 0, err
	}
	// The filter holds nothing back after the flag headers' last line
	// feed, so the count ends exactly there.
	var valueAt int64
	if baseAt >= 0 {
		valueAt = cw.n - int64(flagLines.Len()) + int64(baseAt)
	}
	if err := copyTo(size); err != nil {
		return cw.n, 0, err
	}
	if err := f.Close(); err != nil {
		return cw.n, 0, err
	}
	if _, err := io.WriteString(out, tail); err != nil {
		return cw.n, 0, err
	}
	return cw.n, valueAt, nil
}

// mboxBufs are the buffers one message is written through: the copy
// buffer and the filter's output. They are reused (writeBufs), since a
// writer is made for every message and each would otherwise allocate them
// anew (about 150 KB for a 64 KB message; BenchmarkMboxWrite).
type mboxBufs struct {
	copy     []byte
	filtered []byte
}

var writeBufs = sync.Pool{New: func() any {
	return &mboxBufs{copy: make([]byte, 32<<10), filtered: make([]byte, 0, 33<<10)}
}}

// WriteMessageBytes is WriteMessage for a message held in memory.
func (w *MboxWriter) WriteMessageBytes(env MboxEnvelope, msg []byte) (int64, error) {
	return w.WriteMessage(env, bytes.NewReader(msg), int64(len(msg)))
}

// mboxHeader is what the writer needs to know about a message's header.
type mboxHeader struct {
	end        int64   // where the flag headers go: the first empty line, or the end
	rename     []int64 // offsets of store header fields to rename
	endsLF     bool    // the message's last byte is a line feed
	returnPath string  // the first Return-Path's address
	date       time.Time
}

// mboxHeaderValueMax bounds how much of a Return-Path or Date value is kept.
const mboxHeaderValueMax = 1024

// scanMboxHeader reads the header of the size-byte message msg line by
// line, in bounded memory whatever its length, finding where it ends
// exactly as MboxReader does: at the first line that is "\n" or "\r\n".
// It stops there: of the body it needs only the last byte, which it reads
// alone, so the writer's one pass over the body is the copy itself.
func scanMboxHeader(msg io.ReaderAt, size int64) (mboxHeader, error) {
	var h mboxHeader
	br := bufio.NewReaderSize(io.NewSectionReader(msg, 0, size), 4096)
	var (
		pos     int64
		lastCR  int64 = -1 // where a last line of a lone CR starts
		top     bool       // the flag headers go before the first line
		last    byte
		field   string // lower-case name of the field being read
		value   []byte
		dateHdr string
	)
	finish := func() {
		v := strings.TrimSpace(string(value))
		switch field {
		case "return-path":
			if h.returnPath == "" {
				h.returnPath = v
			}
		case "date":
			if dateHdr == "" {
				dateHdr = v
			}
		}
		field, value = "", value[:0]
	}
	h.end = -1
	var head []byte // the start of the current line; one buffer for all lines
	for {
		lineStart := pos
		var n int64
		for {
			chunk, err := br.ReadSlice('\n')
			if n == 0 {
				head = append(head[:0], chunk[:min(len(chunk), mboxHeaderValueMax)]...)
			}
			n += int64(len(chunk))
			if len(chunk) > 0 {
				last = chunk[len(chunk)-1]
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil && err != io.EOF {
				return h, err
			}
			break
		}
		if n == 0 {
			break
		}
		if string(head) == "\r" {
			lastCR = lineStart
		}
		pos += n
		if string(head) == "\n" || string(head) == "\r\n" {
			if !top {
				h.end = lineStart
			}
			break
		}
		if lineStart == 0 && head[0] != ' ' && head[0] != '\t' && !fieldLine(head) {
			// The message does not start with a header field (a
			// stray From_ line, a body without a header): readers
			// that stop at such a line would miss flag headers after
			// it, so they go first. Not before a leading continuation
			// line, which would join them.
			h.end, top = 0, true
		}
		if (head[0] == ' ' || head[0] == '\t') && field != "" {
			if len(value) < mboxHeaderValueMax {
				value = append(value, bytes.TrimRight(head, "\r\n")...)
			}
			continue
		}
		finish()
		name, v, ok := bytes.Cut(head, []byte(":"))
		if !ok {
			continue
		}
		lower := strings.ToLower(string(bytes.TrimRight(name, " \t")))
		if isMboxStoreHeader(unrenamed(lower)) {
			h.rename = append(h.rename, lineStart)
		}
		field = lower
		value = append(value[:0], bytes.TrimRight(v, "\r\n")...)
	}
	finish()
	if pos < size {
		// The scan stopped at the end of the header: the last byte is
		// the body's.
		var b [1]byte
		if n, err := msg.ReadAt(b[:], size-1); n == 0 {
			return h, err
		}
		last = b[0]
	}
	h.endsLF = last == '\n'
	if h.end < 0 && !top {
		h.end = pos
		if lastCR >= 0 {
			// The line feed the file adds would turn this last line
			// into "\r\n", the end of the header: the flag headers go
			// before it.
			h.end = lastCR
		}
	}
	if t, err := mail.ParseDate(dateHdr); err == nil {
		h.date = t
	}
	h.returnPath = strings.TrimSpace(h.returnPath)
	return h, nil
}

// fieldLine reports whether a line starts with a header field name and a
// colon (white space before the colon allowed, as the reader allows it).
func fieldLine(l []byte) bool {
	name, _, ok := bytes.Cut(l, []byte(":"))
	return ok && fieldName(bytes.TrimRight(name, " \t"))
}
