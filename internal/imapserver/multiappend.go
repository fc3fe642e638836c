package imapserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// go-imap's server knows APPEND of one message only. With
// Options.MultiAppend the client's commands pass through
// multiAppendRequests, which reads an APPEND of several messages
// (MULTIAPPEND, RFC 3502, with non-synchronizing literals) whole and hands
// go-imap an APPEND of one literal that packs them (multiAppendMagic, then
// each message's arguments and body). Its tag says how many messages it
// packs ("MA3-tag"), so that multiAppendResponses can give the client its
// own tag back and turn the APPENDUID of the last UID into the uid-set of
// all of them. Session.Append stores the messages of such a literal
// together or, when one is refused, none of them.

// multiAppendMagic starts a literal that packs the messages of a
// MULTIAPPEND.
const multiAppendMagic = "\x00mailferry-imapserver-multiappend\x00"

var (
	appendStart      = regexp.MustCompile(`(?i)^([^ ]+) APPEND `)
	multiAppendTag   = regexp.MustCompile(`(?s)^MA([0-9]+)-([^ ]+)( .*)$`)
	appendUIDCode    = regexp.MustCompile(`(?i)^(OK \[APPENDUID [0-9]+ )([0-9]+)\]`)
	nonSyncLiteralAt = regexp.MustCompile(`\{([0-9]{1,10})\+\}\r\n$`)
)

// packedMessage is one message of a MULTIAPPEND.
type packedMessage struct {
	args string // what came before its literal: flags and date, if any
	body []byte
}

// multiAppendRequests copies the client's commands to the server, packing
// each APPEND of more than one message. A client that goes away in the
// middle of one has nothing of it stored, as MULTIAPPEND is atomic; with
// keepPartial (Options.KeepPartialAppend), what arrived of it is stored,
// as a sloppy server would.
func multiAppendRequests(keepPartial bool) func(client io.Reader, server io.Writer) error {
	return func(client io.Reader, server io.Writer) error {
		br := bufio.NewReaderSize(client, 64*1024)
		for {
			line, err := br.ReadBytes('\n')
			m := appendStart.FindSubmatch(line)
			lit := nonSyncLiteralAt.FindSubmatchIndex(line)
			if lit != nil {
				if n, _ := strconv.Atoi(string(line[lit[2]:lit[3]])); n > maxLiteral {
					lit = nil // not read into memory: go-imap refuses it
				}
			}
			if m == nil || lit == nil || err != nil {
				if done, err := forwardLine(br, server, line, err); done {
					return err
				}
				continue
			}
			if err := packAppend(br, server, line, string(m[1]), lit, keepPartial); err != nil {
				return err
			}
		}
	}
}

// packAppend reads the APPEND that starts with line (tag, the first
// literal's place lit) and sends it on: as it is when it carries one
// message, packed when it carries more.
func packAppend(br *bufio.Reader, server io.Writer, line []byte, tag string, lit []int, keepPartial bool) error {
	head := string(line[len(tag)+len(" APPEND ") : lit[0]])
	mailbox, args := splitMailbox(head)
	size, _ := strconv.Atoi(string(line[lit[2]:lit[3]]))
	var msgs []packedMessage
	for {
		body := make([]byte, size)
		n, err := io.ReadFull(br, body)
		if err != nil {
			// Cut in the middle of a literal.
			if len(msgs) == 0 {
				// One message so far: go-imap sees what arrived, as
				// without this filter.
				server.Write(line)
				server.Write(body[:n])
				return err
			}
			if keepPartial {
				msgs = append(msgs, packedMessage{args: args, body: body[:n]})
				writePacked(server, tag, mailbox, msgs)
			}
			return err
		}
		msgs = append(msgs, packedMessage{args: args, body: body})
		rest, err := br.ReadBytes('\n')
		if err != nil {
			if keepPartial && len(msgs) > 1 {
				writePacked(server, tag, mailbox, msgs)
			} else if len(msgs) == 1 {
				server.Write(line)
				server.Write(body)
				server.Write(rest)
			}
			return err
		}
		if string(rest) == "\r\n" {
			break
		}
		next := nonSyncLiteralAt.FindSubmatchIndex(rest)
		if next != nil {
			if n, _ := strconv.Atoi(string(rest[next[2]:next[3]])); n > maxLiteral {
				next = nil
			}
		}
		if next == nil {
			// Not a message: go-imap answers it.
			_, err := server.Write(append(append(append([]byte(nil), line...), body...), rest...))
			return err
		}
		args = string(rest[:next[0]])
		size, _ = strconv.Atoi(string(rest[next[2]:next[3]]))
	}
	if len(msgs) == 1 {
		_, err := server.Write(append(append(append([]byte(nil), line...), msgs[0].body...), "\r\n"...))
		return err
	}
	return writePacked(server, tag, mailbox, msgs)
}

// splitMailbox splits what comes between "APPEND " and the first literal
// into the mailbox (a quoted string or an atom) and the first message's
// flags and date.
func splitMailbox(head string) (mailbox, args string) {
	if strings.HasPrefix(head, `"`) {
		for i := 1; i < len(head); i++ {
			switch head[i] {
			case '\\':
				i++
			case '"':
				return head[:i+1], head[i+1:]
			}
		}
		return head, ""
	}
	name, rest, _ := strings.Cut(head, " ")
	return name, " " + rest
}

// writePacked sends the messages as one APPEND of a packed literal.
func writePacked(server io.Writer, tag, mailbox string, msgs []packedMessage) error {
	var lit bytes.Buffer
	lit.WriteString(multiAppendMagic)
	for _, m := range msgs {
		fmt.Fprintf(&lit, "%d\n%s%d\n", len(m.args), m.args, len(m.body))
		lit.Write(m.body)
	}
	_, err := fmt.Fprintf(server, "MA%d-%s APPEND %s {%d+}\r\n%s\r\n", len(msgs), tag, mailbox, lit.Len(), lit.Bytes())
	return err
}

// unpack reads the messages of a packed literal; ok is false for any other
// literal.
func unpack(lit []byte) (msgs []packedMessage, ok bool, err error) {
	if !bytes.HasPrefix(lit, []byte(multiAppendMagic)) {
		return nil, false, nil
	}
	rest := lit[len(multiAppendMagic):]
	field := func() ([]byte, error) {
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return nil, errors.New("packed MULTIAPPEND: no length")
		}
		n, err := strconv.Atoi(string(rest[:nl]))
		if err != nil || n < 0 || n > len(rest)-nl-1 {
			return nil, errors.New("packed MULTIAPPEND: bad length")
		}
		f := rest[nl+1 : nl+1+n]
		rest = rest[nl+1+n:]
		return f, nil
	}
	for len(rest) > 0 {
		args, err := field()
		if err != nil {
			return nil, true, err
		}
		body, err := field()
		if err != nil {
			return nil, true, err
		}
		msgs = append(msgs, packedMessage{args: string(args), body: body})
	}
	return msgs, true, nil
}

// appendArgs reads a message's flags and date, as APPEND sends them:
// ` (\Seen Work) "01-Mar-2015 10:20:30 +0200" `, each optional.
func appendArgs(args string) (flags []imap.Flag, date time.Time, err error) {
	args = strings.TrimSpace(args)
	if strings.HasPrefix(args, "(") {
		end := strings.IndexByte(args, ')')
		if end < 0 {
			return nil, time.Time{}, fmt.Errorf("flags without ')' in %q", args)
		}
		for _, f := range strings.Fields(args[1:end]) {
			flags = append(flags, imap.Flag(f))
		}
		args = strings.TrimSpace(args[end+1:])
	}
	if args != "" {
		date, err = time.Parse(`"_2-Jan-2006 15:04:05 -0700"`, args)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("date %q: %v", args, err)
		}
	}
	return flags, date, nil
}

// multiAppendResponses gives a packed APPEND's answer the client's tag
// and the uid-set of all its messages, and adds MULTIAPPEND to the
// capabilities (go-imap's server advertises only those it knows).
func multiAppendResponses(next func([][]byte) []byte) func([][]byte) []byte {
	return func(segs [][]byte) []byte {
		segs = withCapability(segs, imap.CapMultiAppend)
		m := multiAppendTag.FindSubmatch(segs[0])
		if m == nil {
			return next(segs)
		}
		n, _ := strconv.ParseUint(string(m[1]), 10, 32)
		rest := string(m[3])
		if c := appendUIDCode.FindStringSubmatchIndex(rest[1:]); c != nil {
			last, _ := strconv.ParseUint(rest[1+c[4]:1+c[5]], 10, 32)
			rest = " " + rest[1+c[2]:1+c[3]] + fmt.Sprintf("%d:%d]", last-n+1, last) + rest[1+c[1]:]
		}
		line := append(append([]byte(nil), m[2]...), rest...)
		return next(append([][]byte{line}, segs[1:]...))
	}
}

// appendPacked stores the messages of a packed literal in mb together, or
// none of them when one is refused, and answers with the UID of the last.
func (s *session) appendPacked(mb *mailbox, name string, msgs []packedMessage) (*imap.AppendData, error) {
	type parsed struct {
		flags []imap.Flag
		date  time.Time
		body  []byte
	}
	var all []parsed
	for _, m := range msgs {
		flags, date, err := appendArgs(m.args)
		if err != nil {
			return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Text: err.Error()}
		}
		if refuse := s.srv.opts.RefuseAppend; refuse != nil {
			if ie := refuse(name, m.body); ie != nil {
				return nil, ie
			}
		}
		body := m.body
		if rewrite := s.srv.opts.StoreBody; rewrite != nil {
			body = rewrite(name, body)
		}
		all = append(all, parsed{flags: flags, date: date, body: bytes.Clone(body)})
	}
	var data *imap.AppendData
	mb.mu.Lock()
	for _, p := range all {
		data = mb.addLocked(p.body, p.flags, p.date)
	}
	mb.mu.Unlock()
	for _, p := range all {
		s.user.alsoInAllMail(s.srv, name, p.body, p.flags, p.date)
	}
	return data, nil
}
