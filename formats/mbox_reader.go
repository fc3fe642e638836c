package formats

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrNotMbox is matched (errors.Is) by the error MboxReader returns where a
// message should start but no From_ line is.
var ErrNotMbox = errors.New("not an mbox file")

// NotMboxError says where an mbox file stopped looking like one.
type NotMboxError struct {
	Offset int64  // byte offset of the offending line
	Line   string // its first bytes
}

func (e *NotMboxError) Error() string {
	return fmt.Sprintf("not an mbox file: expected a From_ line at byte %d, found %q", e.Offset, e.Line)
}

// Is makes errors.Is(err, ErrNotMbox) true.
func (e *NotMboxError) Is(target error) bool { return target == ErrNotMbox }

// MboxMessage is one message found in an mbox file by MboxReader.
type MboxMessage struct {
	// Offset is where the message's From_ line starts in the file.
	Offset int64
	// Length is the number of bytes from Offset to where the next message
	// starts (or the end of the file): From_ line, frame or flag headers,
	// the message and the blank line after it.
	Length int64
	// Sender is the address of the From_ line.
	Sender string
	// Date is the arrival time from the From_ line, in UTC. Only in the
	// framed messages of mailferry's old archives does the Unix epoch mean
	// "unknown" (Date is then zero); anywhere else it is a real date.
	Date time.Time
	// Flags are the IMAP flags from the flag headers, normalized.
	Flags []string
	// Framed reports that the message carries a valid X-Mailferry-Frame,
	// the framing of mailferry's old archives (MboxWriter no longer writes
	// it): Body yields exactly the bytes once given to the writer.
	Framed bool
	// Incomplete reports that the file ends inside this message: an append
	// that was cut short. Its Body yields the raw bytes from Offset to the
	// end of the file; it is not a message and must not be copied.
	Incomplete bool
	// Expunged reports a message Thunderbird deleted but has not compacted
	// away yet (bit 0x0008 of X-Mozilla-Status): Thunderbird no longer shows
	// it, so it is not live mail.
	Expunged bool
	// Pseudo reports the folder-data message UW-IMAP and Pine keep at the
	// start of a file ("DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA"):
	// the first message of the file, carrying an X-IMAP header. Dovecot
	// takes it for the same and hides it; it is not mail.
	Pseudo bool
	// Fields holds, by lower-case name, the unfolded values of the fields
	// the reader was told to strip (StripFields); foreign messages only.
	Fields map[string]string

	ra       io.ReaderAt
	spans    []span
	unescape bool
}

type span struct{ off, n int64 }

// StoredSize is the number of bytes the message occupies in the file
// without its From_ line and flag headers, before unquoting: an upper
// bound of what Body yields and usually equal to it.
func (m *MboxMessage) StoredSize() int64 {
	var n int64
	for _, s := range m.spans {
		n += s.n
	}
	return n
}

// Body streams the message: for a framed message exactly the bytes given to
// the writer; for any other the message without its From_ line, its
// flag and bookkeeping headers (Status, X-Status, X-Keywords,
// X-Mozilla-Status, X-Mozilla-Status2, X-Mozilla-Keys, X-Evolution, X-UID,
// X-IMAP, X-IMAPbase, a Content-Length, the fields named by StripFields)
// and the separating blank line, with one "X-Original-" removed from the
// header fields MboxWriter renamed and ">From " quoting undone (except in
// mboxcl2 messages, which are not quoted). For what MboxWriter wrote that is
// the message it was given (see MboxWriter for what an mbox file cannot
// keep). Each call starts a new reader.
func (m *MboxMessage) Body() io.Reader {
	rs := make([]io.Reader, 0, len(m.spans))
	for _, s := range m.spans {
		rs = append(rs, io.NewSectionReader(m.ra, s.off, s.n))
	}
	r := io.MultiReader(rs...)
	if m.unescape {
		return newFilterReader(r, m.StoredSize(), true)
	}
	return r
}

// MboxReader reads the messages of an mbox file: mailferry's own framed
// mboxrd and foreign mboxrd, mboxo, mboxcl2, Thunderbird and mutt/pine files.
// It reads the file through an io.ReaderAt, so memory stays bounded whatever
// the size of the file or of a message, and a message's Body can be read
// at any time, also after the reader moved on.
//
// Messages are separated by a From_ line ("From " addr date, RFC 4155) at
// the start of the file or after a blank line. A "From " line that does not
// follow a blank line or does not parse is part of the message (unquoted
// mboxo). A message with a Content-Length header that points exactly at the
// next From_ line (mboxcl2) is framed by it.
type MboxReader struct {
	ra    io.ReaderAt
	size  int64
	pos   int64 // where the next message starts
	first bool  // skip blank lines before the first message
	err   error

	br    *bufio.Reader
	brPos int64 // file offset of the next byte br returns
	ioErr error
	head  []byte // copy of a long line's first bytes

	strip map[string]bool // lower-case names of fields removed from foreign messages
}

// mboxBufSize is the read buffer, and the most of a line the reader looks at.
const mboxBufSize = 64 * 1024

// NewMboxReader reads the mbox file ra of size bytes from its beginning.
func NewMboxReader(ra io.ReaderAt, size int64) *MboxReader {
	return &MboxReader{ra: ra, size: size, first: true}
}

// StripFields makes the reader remove the header fields with these names
// from foreign messages, as it removes the flag headers, and give their
// values in MboxMessage.Fields. It is for store-specific bookkeeping, such
// as Google Takeout's X-Gmail-Labels.
func (r *MboxReader) StripFields(names ...string) {
	if r.strip == nil {
		r.strip = map[string]bool{}
	}
	for _, n := range names {
		r.strip[strings.ToLower(n)] = true
	}
}

// SeekMessage makes the next call to Next read the message whose From_ line
// starts at offset (an Offset from an earlier scan).
func (r *MboxReader) SeekMessage(offset int64) {
	r.pos, r.first, r.err = offset, false, nil
}

// Next returns the next message, io.EOF after the last, a *NotMboxError
// (matching ErrNotMbox) where no message starts, or a read error. After an
// error Next keeps returning it.
func (r *MboxReader) Next() (*MboxMessage, error) {
	if r.err != nil {
		return nil, r.err
	}
	m, err := r.next()
	if err == nil && r.ioErr != nil {
		m, err = nil, r.ioErr
	}
	if err != nil {
		r.err = err
		return nil, err
	}
	return m, nil
}

// line is one line of the file: where it starts, its length with the LF,
// and its first bytes (valid until the next readLine).
type line struct {
	off  int64
	n    int64
	head []byte
	lf   bool
}

func (l line) blank() bool {
	return l.lf && (l.n == 1 || (l.n == 2 && l.head[0] == '\r'))
}

// whole reports that head holds the entire line.
func (l line) whole() bool { return int64(len(l.head)) == l.n }

// text is the line without its LF or CRLF.
func (l line) text() []byte {
	t := l.head
	if l.lf && l.whole() {
		t = t[:len(t)-1]
		t = bytes.TrimSuffix(t, []byte("\r"))
	}
	return t
}

func (r *MboxReader) seek(off int64) {
	sr := &rampReader{r: io.NewSectionReader(r.ra, off, max(r.size-off, 0)), n: 4096}
	if r.br == nil {
		r.br = bufio.NewReaderSize(sr, mboxBufSize)
	} else {
		r.br.Reset(sr)
	}
	r.brPos = off
}

// rampReader reads little at first and more as reading goes on: most
// seeks look at a line or two (a From_ line, a frame), a few scan a message.
type rampReader struct {
	r io.Reader
	n int
}

func (rr *rampReader) Read(p []byte) (int, error) {
	if len(p) > rr.n {
		p = p[:rr.n]
	}
	rr.n = min(2*rr.n, mboxBufSize)
	return rr.r.Read(p)
}

// readLine reads the next line; ok is false at the end of the file.
func (r *MboxReader) readLine() (l line, ok bool) {
	l.off = r.brPos
	for {
		chunk, err := r.br.ReadSlice('\n')
		if l.n == 0 {
			l.head = chunk
		}
		l.n += int64(len(chunk))
		if err == bufio.ErrBufferFull {
			if int64(len(chunk)) == l.n {
				r.head = append(r.head[:0], chunk...)
				l.head = r.head
			}
			continue
		}
		if err == nil {
			l.lf = true
		} else if err != io.EOF && r.ioErr == nil {
			r.ioErr = err
		}
		break
	}
	r.brPos += l.n
	return l, l.n > 0
}

func (r *MboxReader) readAt(off, n int64) ([]byte, bool) {
	if off < 0 || n < 0 || off+n > r.size {
		return nil, false
	}
	b := make([]byte, n)
	if _, err := r.ra.ReadAt(b, off); err != nil && !(err == io.EOF && n > 0) {
		if err != io.EOF && r.ioErr == nil {
			r.ioErr = err
		}
		return nil, false
	}
	return b, true
}

func (r *MboxReader) next() (*MboxMessage, error) {
	if r.pos >= r.size {
		return nil, io.EOF
	}
	r.seek(r.pos)
	var l line
	for {
		var ok bool
		l, ok = r.readLine()
		if !ok {
			return nil, io.EOF
		}
		if !r.first || !l.blank() {
			break
		}
	}
	first := r.first || l.off == 0
	r.first = false
	start := l.off
	if !l.lf && tornFromLine(l.head) {
		return r.incomplete(start), nil
	}
	sender, date, ok := ParseMboxFromLine(l.text())
	if !l.lf || !l.whole() || !ok {
		return nil, &NotMboxError{Offset: start, Line: string(l.head[:min(len(l.head), 80)])}
	}
	bodyStart := l.off + l.n

	fr := r.readFrame()
	switch fr.kind {
	case framePartial:
		return r.incomplete(start), nil
	case frameFound:
		if m, torn := r.checkFrame(start, sender, date, fr); m != nil {
			return m, nil
		} else if torn {
			return r.foreign(start, bodyStart, sender, date, true, first), nil
		}
	}
	return r.foreign(start, bodyStart, sender, date, false, first), nil
}

// incomplete is the message of a torn append: everything from start on.
func (r *MboxReader) incomplete(start int64) *MboxMessage {
	r.pos = r.size
	return &MboxMessage{
		Offset: start, Length: r.size - start, Incomplete: true,
		ra: r.ra, spans: []span{{start, r.size - start}},
	}
}

type frameKind int

const (
	frameNone    frameKind = iota // no frame: a foreign message
	frameFound                    // a complete frame block
	framePartial                  // the file ends inside a frame block
)

type frame struct {
	kind         frameKind
	flags        []string
	n            int64 // quoted length of the message
	contentStart int64
}

var frameFields = []string{"Status: ", "X-Status: ", "X-Keywords: ", mboxFrameField + ": "}

// readFrame reads mailferry's frame block after a From_ line: Status, then
// optionally X-Status and X-Keywords, then X-Mailferry-Frame, each exactly
// as MboxWriter writes it.
func (r *MboxReader) readFrame() frame {
	var fr frame
	next := 0 // index into frameFields of the next field allowed
	for range frameFields {
		l, ok := r.readLine()
		if !ok {
			return frame{kind: framePartial}
		}
		if !l.lf {
			if framePrefix(l.head) {
				return frame{kind: framePartial}
			}
			return frame{}
		}
		if !l.whole() {
			return frame{}
		}
		t := string(l.head[:len(l.head)-1])
		i := -1
		for j := next; j < len(frameFields); j++ {
			if strings.HasPrefix(t, frameFields[j]) {
				i = j
				break
			}
		}
		if i < 0 || (next == 0 && i != 0) {
			return frame{} // Status comes first, always
		}
		v := t[len(frameFields[i]):]
		switch i {
		case 0:
			f, ok := statusFlags(v)
			if !ok {
				return frame{}
			}
			fr.flags = append(fr.flags, f...)
		case 1:
			f, ok := xStatusFlags(v)
			if !ok || v == "" {
				return frame{}
			}
			fr.flags = append(fr.flags, f...)
		case 2:
			kws := strings.Split(v, " ")
			for _, k := range kws {
				if !MboxKeywordOK(k) {
					return frame{}
				}
			}
			fr.flags = append(fr.flags, kws...)
		case 3:
			ver, num, ok := strings.Cut(v, " ")
			n, err := strconv.ParseInt(num, 10, 64)
			if !ok || ver != mboxFrameVersion || err != nil || n < 0 || strconv.FormatInt(n, 10) != num {
				return frame{}
			}
			fr.kind, fr.n, fr.contentStart = frameFound, n, l.off+l.n
			return fr
		}
		next = i + 1
	}
	return frame{}
}

// framePrefix reports whether a partial last line could be the start of a
// frame block line.
func framePrefix(b []byte) bool {
	for _, f := range frameFields {
		if bytes.HasPrefix([]byte(f), b) || bytes.HasPrefix(b, []byte(f)) {
			return true
		}
	}
	return false
}

// checkFrame verifies a frame: the quoted message must be followed by its
// line feeds and then by the end of the file, blank lines, or a From_ line.
// It returns the message, or torn=true when the file ends before the
// message does.
func (r *MboxReader) checkFrame(start int64, sender string, date time.Time, fr frame) (m *MboxMessage, torn bool) {
	end := fr.contentStart + fr.n
	if fr.n > r.size || end > r.size {
		return nil, true
	}
	tail := int64(1)
	if fr.n > 0 {
		last, ok := r.readAt(end-1, 1)
		if !ok {
			return nil, false
		}
		if last[0] != '\n' {
			tail = 2
		}
	}
	if end+tail > r.size {
		return nil, true
	}
	lfs, ok := r.readAt(end, tail)
	if !ok || !bytes.Equal(lfs, []byte("\n\n")[:tail]) {
		return nil, false
	}
	next := end + tail
	r.seek(next)
	for {
		l, ok := r.readLine()
		if !ok {
			break
		}
		if l.blank() {
			next = l.off + l.n
			continue
		}
		if l.lf && l.whole() {
			if _, _, ok := ParseMboxFromLine(l.text()); !ok {
				return nil, false
			}
		} else if l.lf || !tornFromLine(l.head) {
			return nil, false
		}
		break
	}
	if date.Equal(mboxUnknownDate) {
		date = time.Time{}
	}
	r.pos = next
	return &MboxMessage{
		Offset: start, Length: next - start, Sender: sender, Date: date,
		Flags: NormalizeFlags(fr.flags), Framed: true,
		ra: r.ra, spans: []span{{fr.contentStart, fr.n}}, unescape: true,
	}, false
}

// foreign reads a message not written by MboxWriter (or whose frame does
// not check out) from bodyStart, the byte after its From_ line. first
// says it is the first message of the file.
func (r *MboxReader) foreign(start, bodyStart int64, sender string, date time.Time, torn, first bool) *MboxMessage {
	r.seek(bodyStart)
	var (
		flags   []string
		dropped []span
		cls     []span // Content-Length fields
		clValue string
		field   struct {
			name   string
			off, n int64
			value  []byte
		}
		inField  bool
		hdrEnd   = r.size // where the blank line after the header starts
		blankEnd = r.size // where the body starts
		expunged bool
		xIMAP    bool
		fields   map[string]string
	)
	finish := func() {
		if !inField {
			return
		}
		inField = false
		v := string(field.value)
		if renamedStoreHeader(field.name) {
			// A message's own store header, renamed by MboxWriter:
			// give it back its name.
			dropped = append(dropped, span{field.off, int64(len(mboxRenamePrefix))})
			return
		}
		if f, store := foreignFlags(field.name, v); store {
			flags = append(flags, f...)
			dropped = append(dropped, span{field.off, field.n})
			switch field.name {
			case "x-mozilla-status":
				expunged = expunged || mozillaExpunged(v)
			case "x-imap":
				xIMAP = true
			}
			return
		}
		if r.strip[field.name] {
			dropped = append(dropped, span{field.off, field.n})
			if fields == nil {
				fields = map[string]string{}
			}
			if _, dup := fields[field.name]; !dup {
				fields[field.name] = strings.TrimSpace(v)
			}
			return
		}
		switch field.name {
		case "content-length":
			cls = append(cls, span{field.off, field.n})
			clValue = strings.TrimSpace(v)
		}
	}
	const maxValue = 64 * 1024
	for {
		l, ok := r.readLine()
		if !ok {
			break
		}
		if l.blank() {
			hdrEnd, blankEnd = l.off, l.off+l.n
			break
		}
		if inField && (l.head[0] == ' ' || l.head[0] == '\t') {
			field.n += l.n
			if len(field.value) < maxValue {
				field.value = append(field.value, l.text()...)
			}
			continue
		}
		finish()
		name, value, ok := bytes.Cut(l.text(), []byte(":"))
		// RFC 822 allowed white space before the colon, and some
		// readers still take "Content-Length :" for the field.
		name = bytes.TrimRight(name, " \t")
		if ok && fieldName(name) {
			inField = true
			field.name = strings.ToLower(string(name))
			field.off, field.n = l.off, l.n
			field.value = append(field.value[:0], value[:min(len(value), maxValue)]...)
		}
	}
	finish()

	contentEnd, next := r.size, r.size
	unescape := true
	if cl, err := strconv.ParseInt(clValue, 10, 64); !torn && blankEnd < r.size && len(cls) == 1 && err == nil && cl >= 0 && r.clConsistent(blankEnd, cl) {
		// mboxcl2: the length frames the body, which is not quoted.
		contentEnd = blankEnd + cl
		next = min(contentEnd+1, r.size)
		unescape = false
		dropped = append(dropped, cls[0])
	} else if hdrEnd < r.size {
		// Scan the body for the next separator: a From_ line after a
		// blank line. The blank line belongs to neither message.
		prevBlank, prevBlankOff := true, hdrEnd
		found := false
		for {
			l, ok := r.readLine()
			if !ok {
				break
			}
			// A last line cut short of "From " may be a torn From_ line too.
			if prevBlank && (bytes.HasPrefix(l.head, []byte(fromPrefix)) || (!l.lf && tornFromLine(l.head))) {
				if l.lf && l.whole() {
					if _, _, ok := ParseMboxFromLine(l.text()); ok {
						found = true
					}
				} else if !l.lf && tornFromLine(l.head) {
					found = true
				}
				if found {
					contentEnd, next = prevBlankOff, l.off
					break
				}
			}
			prevBlank = l.blank()
			if prevBlank {
				prevBlankOff = l.off
			}
		}
		if !found && prevBlank {
			contentEnd = prevBlankOff // the blank line ending the file
		}
		if torn && !found {
			return r.incomplete(start)
		}
	} else if torn {
		return r.incomplete(start)
	}

	sort.Slice(dropped, func(i, j int) bool { return dropped[i].off < dropped[j].off })
	var spans []span
	pos := bodyStart
	for _, d := range dropped {
		if d.off > pos {
			spans = append(spans, span{pos, d.off - pos})
		}
		pos = d.off + d.n
	}
	if contentEnd > pos {
		spans = append(spans, span{pos, contentEnd - pos})
	}
	r.pos = next
	return &MboxMessage{
		Offset: start, Length: next - start, Sender: sender, Date: date,
		Flags: NormalizeFlags(flags), Expunged: expunged, Pseudo: first && xIMAP, Fields: fields,
		ra: r.ra, spans: spans, unescape: unescape,
	}
}

// clConsistent reports whether a Content-Length of cl bytes from body ends
// the message exactly: at the end of the file, or at an LF followed by the
// end of the file or a From_ line.
func (r *MboxReader) clConsistent(body, cl int64) bool {
	end := body + cl
	if cl > r.size || end > r.size {
		return false
	}
	if end == r.size {
		return true
	}
	lf, ok := r.readAt(end, 1)
	if !ok || lf[0] != '\n' {
		return false
	}
	if end+1 == r.size {
		return true
	}
	r.seek(end + 1)
	l, ok := r.readLine()
	if !ok || !l.lf || !l.whole() {
		return false
	}
	_, _, ok = ParseMboxFromLine(l.text())
	return ok
}

// fieldName reports whether b is a header field name (RFC 5322 ftext).
func fieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// tornFromLine reports whether b, the unterminated last line of a file,
// could be the beginning of a From_ line as MboxWriter writes it: "From ",
// an address, and the start of an asctime date.
func tornFromLine(b []byte) bool {
	if len(b) < len(fromPrefix) {
		return bytes.HasPrefix([]byte(fromPrefix), b)
	}
	if !bytes.HasPrefix(b, []byte(fromPrefix)) || len(b) > maxFromLine {
		return false
	}
	rest := b[len(fromPrefix):]
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return true // the address, cut short
	}
	date := rest[sp+1:]
	if _, _, ok := ParseMboxFromLine(b); ok {
		return true
	}
	const tmpl = "AAA AAA ?9 99:99:99 9999"
	if len(date) > len(tmpl) {
		return false
	}
	for i, c := range date {
		switch tmpl[i] {
		case 'A':
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
				return false
			}
		case '9':
			if c < '0' || c > '9' {
				return false
			}
		case '?':
			if c != ' ' && (c < '0' || c > '9') {
				return false
			}
		default:
			if c != tmpl[i] {
				return false
			}
		}
	}
	return true
}
