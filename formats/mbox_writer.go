package formats

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// mboxFrameField is the name of the last line of mailferry's frame block.
const mboxFrameField = "X-Mailferry-Frame"

// mboxFrameVersion is the frame format written by this code.
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

// MboxWriter appends messages to an mbox file in mailferry's framing.
//
// It writes mboxrd that mutt, Dovecot and other mbox readers take as
// an ordinary mbox, with a small block of header lines in front of every
// message that lets its own reader give back the exact bytes it was handed:
//
//	From <sender> <Www Mmm dd hh:mm:ss yyyy>     From_ line, date = arrival time in UTC
//	Status: RO                                  always; R = \Seen, O = old
//	X-Status: AFTD                              only with \Answered \Flagged \Draft \Deleted
//	X-Keywords: $Forwarded work                 only with other keywords
//	X-Mailferry-Frame: 1 <n>                    always the last line of the block
//	<n bytes: the message, mboxrd-quoted>       each line matching ^>*From gets one more '>'
//	<LF>                                        only if the message is not empty and lacks a final LF
//	<LF>                                        the blank line that separates messages
//
// The sender is the message's Return-Path, or MAILER-DAEMON; a zero arrival
// time is written as the Unix epoch and read back as zero.
//
// The block sits in front of the message, so the message's own bytes stay in
// one piece: its own Status, X-Status, X-Keywords, Content-Length or even
// X-Mailferry-Frame headers, a missing final newline, CRLF or mixed line
// endings, NUL and 8-bit bytes, a header without a body or an empty message
// all come back unchanged. n counts the quoted bytes on disk, so a reader can
// check a frame without reading the message: the frame is valid only if the n
// bytes are followed by the expected line feeds and then the end of the file
// or another From_ line. An append cut short by a crash therefore never
// passes for a complete message (see MboxMessage.Incomplete). A message whose
// frame does not check out (an mbox rewritten by another program) is read
// like a foreign one.
//
// Mail programs see the frame lines as ordinary header fields: Status and
// X-Status are mutt's and pine's flag headers, X-Keywords is Dovecot's, and
// X-Mailferry-Frame is ignored. mailferry writes no Content-Length header, so
// no reader trusts a length meant for another.
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
// twice (once to measure, once to write). It returns the number of bytes
// written to the underlying writer. The message's bytes are not interpreted,
// except that Return-Path supplies the sender when env.Sender is empty.
func (w *MboxWriter) WriteMessage(env MboxEnvelope, msg io.ReaderAt, size int64) (int64, error) {
	if _, drop := SplitMboxFlags(env.Flags); len(drop) > 0 {
		return 0, fmt.Errorf("%w: %s", ErrMboxFlag, strings.Join(drop, " "))
	}
	sender := env.Sender
	if sender == "" {
		sender = returnPath(msg, size)
	}
	fromLine, err := FormatMboxFromLine(sender, env.Date)
	if err != nil {
		return 0, err
	}
	quoted := &countWriter{}
	qf := newFromFilter(quoted, false)
	if _, err := io.Copy(qf, io.NewSectionReader(msg, 0, size)); err != nil {
		return 0, fmt.Errorf("mbox: reading message: %w", err)
	}
	qf.Close()
	tail := "\n"
	if size > 0 {
		var last [1]byte
		if _, err := msg.ReadAt(last[:], size-1); err != nil && err != io.EOF {
			return 0, fmt.Errorf("mbox: reading message: %w", err)
		}
		if last[0] != '\n' {
			tail = "\n\n"
		}
	}

	status, xstatus, keywords, _ := mboxFlagValues(env.Flags)
	var head strings.Builder
	head.WriteString(fromLine)
	head.WriteString("Status: " + status + "\n")
	if xstatus != "" {
		head.WriteString("X-Status: " + xstatus + "\n")
	}
	if keywords != "" {
		head.WriteString("X-Keywords: " + keywords + "\n")
	}
	head.WriteString(mboxFrameField + ": " + mboxFrameVersion + " " + strconv.FormatInt(quoted.n, 10) + "\n")

	cw := &countWriter{}
	out := io.MultiWriter(w.w, cw)
	if _, err := io.WriteString(out, head.String()); err != nil {
		return cw.n, err
	}
	body := &countWriter{}
	f := newFromFilter(io.MultiWriter(out, body), false)
	if _, err := io.Copy(f, io.NewSectionReader(msg, 0, size)); err != nil {
		return cw.n, fmt.Errorf("mbox: writing message: %w", err)
	}
	if err := f.Close(); err != nil {
		return cw.n, err
	}
	if body.n != quoted.n {
		return cw.n, fmt.Errorf("mbox: message changed while it was written (%d bytes, then %d)", quoted.n, body.n)
	}
	if _, err := io.WriteString(out, tail); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

// WriteMessageBytes is WriteMessage for a message held in memory.
func (w *MboxWriter) WriteMessageBytes(env MboxEnvelope, msg []byte) (int64, error) {
	return w.WriteMessage(env, bytes.NewReader(msg), int64(len(msg)))
}

// returnPath returns the address of the first Return-Path header field of
// the message, or "" (the From_ line then says MAILER-DAEMON).
func returnPath(msg io.ReaderAt, size int64) string {
	const maxHeader = 256 * 1024
	n := min(size, maxHeader)
	buf := make([]byte, n)
	if _, err := msg.ReadAt(buf, 0); err != nil && err != io.EOF {
		return ""
	}
	for _, f := range headerFields(buf[:HeaderEnd(buf)]) {
		if f[0] == "return-path" {
			return strings.TrimSpace(f[1])
		}
	}
	return ""
}
