package formats

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// storeHeaders are header fields that stores add or rewrite to keep flags
// and bookkeeping (mbox Status lines, Thunderbird's X-Mozilla-Status, mbox
// Content-Length). They are left out of the header hash so a message hashes
// the same in every store.
var storeHeaders = map[string]bool{
	"status":            true,
	"x-status":          true,
	"x-keywords":        true,
	"x-mozilla-status":  true,
	"x-mozilla-status2": true,
	"x-mozilla-keys":    true,
	"x-uid":             true,
	"x-imap":            true,
	"x-imapbase":        true,
	"content-length":    true,
	"lines":             true,
}

// HeaderEnd returns the length of the header block of msg including the
// blank line that ends it, or len(msg) if there is none. A blank line is an
// LF with nothing but CRs before it ("\n", "\r\n", "\r\r\n"): stores keep
// runs of CRs before a line end apart differently (see ToLF), and the header
// must end at the same line in every store's copy.
func HeaderEnd(msg []byte) int {
	for i := 0; i < len(msg); {
		j := bytes.IndexByte(msg[i:], '\n')
		if j < 0 {
			return len(msg)
		}
		if len(bytes.TrimLeft(msg[i:i+j], "\r")) == 0 {
			return i + j + 1
		}
		i += j + 1
	}
	return len(msg)
}

// headerFields splits a header block into unfolded fields, each as
// lower-case name and raw value with line endings removed.
func headerFields(header []byte) [][2]string {
	var fields [][2]string
	for _, line := range strings.Split(string(header), "\n") {
		// Any run of CRs before a line end counts as nothing: stores keep
		// "\r\r\n", "\r\n" and "\n" apart differently (see ToLF).
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1][1] += line
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			fields = append(fields, [2]string{"", line})
			continue
		}
		fields = append(fields, [2]string{strings.ToLower(strings.TrimSpace(name)), value})
	}
	return fields
}

// MessageID returns the Message-ID of a header block, trimmed of white
// space and angle brackets, or "" if there is none.
func MessageID(header []byte) string {
	for _, f := range headerFields(header[:HeaderEnd(header)]) {
		if f[0] == "message-id" {
			id := strings.TrimSpace(f[1])
			id = strings.TrimPrefix(id, "<")
			id = strings.TrimSuffix(id, ">")
			return strings.TrimSpace(id)
		}
	}
	return ""
}

// Fingerprint identifies a message across stores, whatever their line
// endings or flag headers: its Message-ID (or, without one, a hash of its
// header fields less the store bookkeeping fields) and its arrival time to
// the second. Two copies of one message have equal fingerprints; a sink keeps
// a count per fingerprint so identical copies are told apart by number.
//
// The size is deliberately not part of it: stores disagree on a message's
// size whenever they normalise line endings (LF storage turns "\r\r\n" into
// "\r\n"; Dovecot reports the size of what it stored, not of what was
// appended), and a fingerprint that differs between two copies of one message
// would let a run with a lost state file copy it again.
//
// header may be the whole message; only the header block is read.
func Fingerprint(header []byte, date time.Time) string {
	header = header[:HeaderEnd(header)]
	h := sha256.New()
	if id := MessageID(header); id != "" {
		h.Write([]byte("id\x00"))
		h.Write([]byte(id))
	} else {
		h.Write([]byte("hdr\x00"))
		for _, f := range headerFields(header) {
			if storeHeaders[f[0]] {
				continue
			}
			h.Write([]byte(f[0]))
			h.Write([]byte{0})
			h.Write([]byte(f[1]))
			h.Write([]byte{0})
		}
	}
	var secs int64
	if !date.IsZero() {
		secs = date.Unix()
	}
	h.Write([]byte("\x00" + strconv.FormatInt(secs, 10)))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// FingerprintKeys returns the keys a sink counts a stored message under
// (the transfer.Fingerprinter contract): its Fingerprint, and for a dated
// message also its undated one, Fingerprint(header, time.Time{}). A source
// that cannot know a message's date before or even after fetching it (a POP3
// message with neither Received: nor Date:, stored with the time it was
// copied) looks it up by the undated key, so losing the state file does not
// make it a duplicate.
func FingerprintKeys(header []byte, date time.Time) []string {
	if date.IsZero() || date.Unix() == 0 {
		return []string{Fingerprint(header, time.Time{})}
	}
	return []string{Fingerprint(header, date), Fingerprint(header, time.Time{})}
}
