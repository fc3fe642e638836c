package imapconn

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Response is one server response read from a RawStream: a continuation
// request ("+ …"), an untagged response ("* …", literals skipped) or a
// tagged status response ("A1 OK [CODE args] text").
type Response struct {
	// Tag is the command's tag, "*" for untagged data, "+" for a
	// continuation request.
	Tag string
	// Status is OK, NO, BAD, BYE or PREAUTH when the response is a status
	// response; for other untagged data, its first word uppercased (EXISTS
	// comes after a number, so it is that number).
	Status string
	// Code and CodeArgs are the response code in brackets, if any.
	Code     imap.ResponseCode
	CodeArgs string
	Text     string
}

// Err is the tagged NO or BAD as the *imap.Error go-imap would return, so
// the error classes (ClassOfAppend, IsResponse) read it alike; nil for OK.
func (r *Response) Err() error {
	switch r.Status {
	case "OK":
		return nil
	case "NO", "BAD", "BYE":
		return &imap.Error{Type: imap.StatusResponseType(r.Status), Code: r.Code, Text: r.Text}
	}
	return fmt.Errorf("unexpected tagged response %q", r.Status)
}

// ReadResponse reads one response. Literals inside untagged data are read
// and dropped; a tagged or continuation response carries none.
func (s *RawStream) ReadResponse() (*Response, error) {
	line, err := s.ReadLine()
	if err != nil {
		return nil, err
	}
	r, lit, err := parseResponseLine(line)
	if err != nil {
		return nil, err
	}
	for lit >= 0 {
		if err := s.Discard(lit); err != nil {
			return nil, err
		}
		line, err := s.ReadLine()
		if err != nil {
			return nil, err
		}
		lit = trailingLiteral(line)
	}
	return r, nil
}

// parseResponseLine parses the first line of a response. lit is the size of
// a literal the line announces at its end (-1 for none): the response goes
// on after it.
func parseResponseLine(line []byte) (r *Response, lit int64, err error) {
	tag, rest, ok := bytes.Cut(line, []byte(" "))
	if len(tag) == 0 {
		return nil, -1, fmt.Errorf("malformed imap response %q", truncate(line))
	}
	r = &Response{Tag: string(tag)}
	if r.Tag == "+" {
		r.Text = string(rest)
		return r, -1, nil
	}
	if !ok {
		return nil, -1, fmt.Errorf("malformed imap response %q", truncate(line))
	}
	word, text, _ := bytes.Cut(rest, []byte(" "))
	r.Status = strings.ToUpper(string(word))
	switch r.Status {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
	default:
		if r.Tag != "*" {
			return nil, -1, fmt.Errorf("malformed imap status response %q", truncate(line))
		}
		return r, trailingLiteral(line), nil
	}
	if len(text) > 0 && text[0] == '[' {
		end := bytes.IndexByte(text, ']')
		if end < 0 {
			return nil, -1, fmt.Errorf("imap response code without ']' in %q", truncate(line))
		}
		code, args, _ := bytes.Cut(text[1:end], []byte(" "))
		r.Code = imap.ResponseCode(strings.ToUpper(string(code)))
		r.CodeArgs = string(args)
		text = bytes.TrimPrefix(text[end+1:], []byte(" "))
	}
	r.Text = string(text)
	return r, -1, nil
}

// trailingLiteral is the size of the literal a line announces at its end
// ("{123}", also "~{123}"), or -1.
func trailingLiteral(line []byte) int64 {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return -1
	}
	open := bytes.LastIndexByte(line, '{')
	if open < 0 {
		return -1
	}
	n, err := strconv.ParseInt(string(line[open+1:len(line)-1]), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// AppendUIDs reads the APPENDUID response code (RFC 4315) of a tagged OK:
// the folder's UIDVALIDITY and the UIDs the messages of the command got, in
// order (one for an APPEND of one message, a uid-set for MULTIAPPEND). ok
// is false without one, or when it cannot be read.
func (r *Response) AppendUIDs() (uidValidity uint32, uids []imap.UID, ok bool) {
	if r.Code != "APPENDUID" {
		return 0, nil, false
	}
	v, set, found := strings.Cut(r.CodeArgs, " ")
	if !found {
		return 0, nil, false
	}
	vv, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, nil, false
	}
	uids, err = parseUIDSet(set, maxAppendUIDs)
	if err != nil {
		return 0, nil, false
	}
	return uint32(vv), uids, true
}

// maxAppendUIDs bounds the UIDs one APPENDUID may name: more than any
// APPEND command of ours carries.
const maxAppendUIDs = 1 << 16

// parseUIDSet reads an RFC 4315 uid-set ("4", "4:7", "4,9:10"), at most
// max UIDs, in the order it names them; a range counts up from its lower
// end whichever way it is written. "*" and 0 are not UIDs a server
// assigned.
func parseUIDSet(set string, max int) ([]imap.UID, error) {
	var uids []imap.UID
	for _, part := range strings.Split(set, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err := parseUID(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parseUID(hi); err != nil {
				return nil, err
			}
		}
		if a > b {
			a, b = b, a
		}
		if uint64(b-a) >= uint64(max-len(uids)) {
			return nil, fmt.Errorf("uid-set %q names more than %d UIDs", truncate([]byte(set)), max)
		}
		for u := a; ; u++ {
			uids = append(uids, u)
			if u == b {
				break
			}
		}
	}
	return uids, nil
}

func parseUID(s string) (imap.UID, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, fmt.Errorf("%q is no UID", truncate([]byte(s)))
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is no UID", truncate([]byte(s)))
	}
	return imap.UID(n), nil
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
