package imapconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Gmail's X-GM-LABELS fetch item names the labels of a message, which is
// what tells an archived message (in All Mail only) from one that is also
// in a label folder. go-imap can neither ask for it nor parse its answer,
// so FetchGmailLabels sends the command on the raw stream and reads the
// answers itself.

// ErrGmailLabelsRefused wraps the server's NO or BAD to the X-GM-LABELS
// fetch: the labels are not to be had, the connection is fine.
var ErrGmailLabelsRefused = errors.New("the server refused the X-GM-LABELS fetch")

// ErrGmailLabelsUnreadable wraps an answer to the X-GM-LABELS fetch that
// could not be parsed; the rest of the answers was read, the connection
// is fine.
var ErrGmailLabelsUnreadable = errors.New("unreadable answer to the X-GM-LABELS fetch")

// gmailLabelsTag tags the raw X-GM-LABELS fetch; go-imap's tags are
// "T" followed by a number, so the answers cannot be taken for its own.
const gmailLabelsTag = "MFGL"

// FetchGmailLabels runs UID FETCH 1:* (UID X-GM-LABELS) on mailbox (server
// name, opened read-only) and returns each message's labels by UID, as the
// server sends them: "\Inbox", "\Sent", "\Important" and the like for
// system labels, the folder name for the others; and the mailbox's
// UIDVALIDITY, which the UIDs belong to.
func (c *Conn) FetchGmailLabels(ctx context.Context, mailbox string) (uidValidity uint32, labels map[imap.UID][]string, err error) {
	what := fmt.Sprintf("folder %q: UID FETCH (X-GM-LABELS)", mailbox)
	if c.div == nil {
		return 0, nil, errors.New("this connection cannot be lent")
	}
	c.Unselected() // a fresh EXAMINE, for the UIDVALIDITY of now
	sel, err := c.Select(ctx, mailbox, true)
	if err != nil {
		return 0, nil, err
	}
	out := map[imap.UID][]string{}
	if sel.NumMessages == 0 {
		return sel.UIDValidity, out, nil
	}
	s, err := c.div.lend()
	if err != nil {
		return 0, nil, err
	}
	defer s.Close()
	// Untagged EXISTS or EXPUNGE read here never reach go-imap: the
	// folder is opened afresh next time.
	defer c.Unselected()
	end := c.Begin(ctx)
	defer end()
	if _, err := s.Write([]byte(gmailLabelsTag + " UID FETCH 1:* (UID X-GM-LABELS)\r\n")); err != nil {
		c.MarkBroken()
		return 0, nil, c.Err(what, err)
	}
	for {
		line, err := s.ReadLine()
		if err != nil {
			c.MarkBroken()
			return 0, nil, c.Err(what, err)
		}
		c.Arm()
		if n := trailingLiteral(line); n >= 0 {
			// Gmail sends labels as quoted strings; a literal among them
			// is read into the line as a quoted string.
			if line, err = readLiteralsInto(s, line, n); err != nil {
				c.MarkBroken()
				return 0, nil, c.Err(what, err)
			}
		}
		tag, rest, _ := bytes.Cut(line, []byte(" "))
		switch string(tag) {
		case gmailLabelsTag:
			r, _, err := parseResponseLine(line)
			if err != nil {
				c.MarkBroken()
				return 0, nil, c.Err(what, err)
			}
			if err := r.Err(); err != nil {
				return 0, nil, fmt.Errorf("%s: %w: %w", what, ErrGmailLabelsRefused, err)
			}
			return sel.UIDValidity, out, nil
		case "*":
			uid, l, ok, err := ParseGmailLabelsFetch(rest)
			if err != nil {
				// Read the rest so the stream goes back between responses.
				if derr := discardUntilTagged(s); derr != nil {
					c.MarkBroken()
					return 0, nil, c.Err(what, derr)
				}
				return 0, nil, fmt.Errorf("%s: %w: %w", what, ErrGmailLabelsUnreadable, err)
			}
			if ok {
				out[uid] = l
			}
		default:
			c.MarkBroken()
			return 0, nil, c.Err(what, fmt.Errorf("unexpected response %q", truncate(line)))
		}
	}
}

// readLiteralsInto reads the literal of n bytes a line announced, and any
// that follow, into one line: each literal becomes a quoted string.
func readLiteralsInto(s *RawStream, line []byte, n int64) ([]byte, error) {
	for n >= 0 {
		if n > maxLine {
			return nil, errLineTooLong
		}
		lit, err := s.readFull(n)
		if err != nil {
			return nil, err
		}
		open := bytes.LastIndexByte(line, '{')
		line = append(line[:open:open], quote(string(lit))...)
		next, err := s.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, next...)
		n = trailingLiteral(next)
	}
	return line, nil
}

// readFull reads n bytes of the stream.
func (s *RawStream) readFull(n int64) ([]byte, error) {
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]byte, 0, n)
	for int64(len(out)) < n {
		if s.closed {
			return nil, ErrRawClosed
		}
		if d.pending.Len() > 0 {
			k := min(int64(d.pending.Len()), n-int64(len(out)))
			out = append(out, d.pending.Next(int(k))...)
			continue
		}
		if d.err != nil {
			return nil, d.err
		}
		d.fill()
	}
	if d.debug != nil {
		d.debug.Write(out)
	}
	return out, nil
}

// discardUntilTagged reads responses up to the tagged one of the raw
// fetch.
func discardUntilTagged(s *RawStream) error {
	for {
		r, err := s.ReadResponse()
		if err != nil {
			return err
		}
		if r.Tag == gmailLabelsTag {
			return nil
		}
	}
}

// ParseGmailLabelsFetch parses an untagged response after its "* ": for a
// FETCH ("7 FETCH (UID 12 X-GM-LABELS (\Inbox "Work"))") it returns the
// UID and labels with ok; other responses (EXISTS, a FETCH without both
// items) give ok false. A FETCH it cannot read is an error.
func ParseGmailLabelsFetch(rest []byte) (uid imap.UID, labels []string, ok bool, err error) {
	num, rest, _ := bytes.Cut(rest, []byte(" "))
	word, rest, _ := bytes.Cut(rest, []byte(" "))
	if !strings.EqualFold(string(word), "FETCH") {
		return 0, nil, false, nil
	}
	if _, err := strconv.ParseUint(string(num), 10, 32); err != nil {
		return 0, nil, false, fmt.Errorf("FETCH response with sequence number %q", truncate(num))
	}
	p := &labelParser{b: rest}
	if !p.take('(') {
		return 0, nil, false, fmt.Errorf("FETCH response without '(' in %q", truncate(rest))
	}
	haveLabels := false
	for !p.take(')') {
		if p.done() {
			return 0, nil, false, fmt.Errorf("unterminated FETCH response %q", truncate(rest))
		}
		p.space()
		name := strings.ToUpper(p.atom())
		if name == "" {
			return 0, nil, false, fmt.Errorf("FETCH item expected at byte %d of %q", p.i, truncate(rest))
		}
		p.space()
		switch name {
		case "UID":
			n, err := strconv.ParseUint(p.atom(), 10, 32)
			if err != nil || n == 0 {
				return 0, nil, false, fmt.Errorf("FETCH response with a bad UID in %q", truncate(rest))
			}
			uid = imap.UID(n)
		case "X-GM-LABELS":
			if labels, err = p.list(); err != nil {
				return 0, nil, false, fmt.Errorf("X-GM-LABELS in %q: %w", truncate(rest), err)
			}
			haveLabels = true
		default:
			if err := p.skipValue(0); err != nil {
				return 0, nil, false, fmt.Errorf("FETCH item %s in %q: %w", name, truncate(rest), err)
			}
		}
	}
	return uid, labels, uid != 0 && haveLabels, nil
}

// ParseGmailLabels parses an X-GM-LABELS value: a parenthesised list of
// atoms and quoted strings, or NIL.
func ParseGmailLabels(b []byte) ([]string, error) {
	p := &labelParser{b: b}
	labels, err := p.list()
	if err == nil && !p.done() {
		err = fmt.Errorf("extra bytes after the list at byte %d", p.i)
	}
	return labels, err
}

// labelParser reads the IMAP syntax of a FETCH response line.
type labelParser struct {
	b []byte
	i int
}

func (p *labelParser) done() bool { return p.i >= len(p.b) }

func (p *labelParser) take(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *labelParser) space() {
	for p.take(' ') {
	}
}

// atom reads up to a space, parenthesis or quote; backslashes are part of
// an atom ("\Inbox").
func (p *labelParser) atom() string {
	start := p.i
	for p.i < len(p.b) && !strings.ContainsRune(" ()\"{", rune(p.b[p.i])) {
		if p.b[p.i] == '[' {
			// BODY[...] section: up to its ']'.
			if end := bytes.IndexByte(p.b[p.i:], ']'); end >= 0 {
				p.i += end
			}
		}
		p.i++
	}
	return string(p.b[start:p.i])
}

// quoted reads a quoted string with its escapes.
func (p *labelParser) quoted() (string, error) {
	if !p.take('"') {
		return "", errors.New("quoted string expected")
	}
	var sb strings.Builder
	for p.i < len(p.b) {
		c := p.b[p.i]
		p.i++
		switch c {
		case '"':
			return sb.String(), nil
		case '\\':
			if p.i >= len(p.b) {
				return "", errors.New("unterminated quoted string")
			}
			sb.WriteByte(p.b[p.i])
			p.i++
		default:
			sb.WriteByte(c)
		}
	}
	return "", errors.New("unterminated quoted string")
}

// list reads a parenthesised list of astrings, or NIL.
func (p *labelParser) list() ([]string, error) {
	if !p.take('(') {
		if a := p.atom(); strings.EqualFold(a, "NIL") {
			return nil, nil
		}
		return nil, fmt.Errorf("'(' expected at byte %d", p.i)
	}
	labels := []string{}
	for {
		p.space()
		if p.take(')') {
			return labels, nil
		}
		if p.done() {
			return nil, errors.New("unterminated list")
		}
		if p.b[p.i] == '"' {
			l, err := p.quoted()
			if err != nil {
				return nil, err
			}
			labels = append(labels, l)
			continue
		}
		l := p.atom()
		if l == "" {
			return nil, fmt.Errorf("label expected at byte %d", p.i)
		}
		labels = append(labels, l)
	}
}

// skipValue skips one value of an item this reader does not need: an
// atom, a quoted string or a list of them, nested at most a few levels.
func (p *labelParser) skipValue(depth int) error {
	if depth > 16 {
		return errors.New("lists nested too deep")
	}
	switch {
	case p.done():
		return errors.New("value expected")
	case p.b[p.i] == '"':
		_, err := p.quoted()
		return err
	case p.take('('):
		for {
			p.space()
			if p.take(')') {
				return nil
			}
			if err := p.skipValue(depth + 1); err != nil {
				return err
			}
		}
	}
	if p.atom() == "" {
		return fmt.Errorf("value expected at byte %d", p.i)
	}
	return nil
}
