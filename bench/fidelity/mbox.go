package main

import (
	"bytes"
	"os"
	"time"
)

// mboxStoreHeaders are the header fields mbox writers add for their own
// bookkeeping (flags, UIDs, lengths; X-IMAPbase, the UIDVALIDITY a
// Dovecot-readable mbox starts with); the corpus has none, so they are
// left out of the bytes. maildirStoreHeaders: mbsync's X-TUID, which it
// adds to find a message it stored again.
var (
	mboxStoreHeaders    = [][]byte{[]byte("Status:"), []byte("X-Status:"), []byte("X-Keywords:"), []byte("X-UID:"), []byte("X-IMAPbase:"), []byte("Content-Length:")}
	maildirStoreHeaders = [][]byte{[]byte("X-TUID:")}
)

// readMbox reads one mbox file as the folder INBOX: a message starts at a
// "From " line at the start of the file or after a blank line, and the
// blank line before the next one is the separator, not the message's.
func readMbox(path string) ([]stored, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var (
		out   []stored
		cur   []byte
		inMsg bool
		prev  = []byte("\n")
	)
	flush := func() {
		if !inMsg {
			return
		}
		body := bytes.TrimSuffix(cur, []byte("\n"))
		out = append(out, stored{folder: "INBOX", body: dropHeaders(unquoteFrom(body), mboxStoreHeaders), date: time.Time{}})
		cur = nil
	}
	for line := range bytes.Lines(data) {
		if bytes.HasPrefix(line, []byte("From ")) && (len(bytes.TrimRight(prev, "\r\n")) == 0) {
			flush()
			inMsg = true
			prev = line
			continue
		}
		cur = append(cur, line...)
		prev = line
	}
	flush()
	return out, nil
}

// dropHeaders returns b without the header fields named in names.
func dropHeaders(b []byte, names [][]byte) []byte {
	end := bytes.Index(b, []byte("\n\n"))
	if end < 0 {
		return b
	}
	found := false
	for _, h := range names {
		if bytes.Contains(b[:end], h) {
			found = true
		}
	}
	if !found {
		return b
	}
	var out bytes.Buffer
	for line := range bytes.Lines(b[:end+1]) {
		drop := false
		for _, h := range names {
			if len(line) >= len(h) && bytes.EqualFold(line[:len(h)], h) {
				drop = true
			}
		}
		if !drop {
			out.Write(line)
		}
	}
	out.Write(b[end+1:])
	return out.Bytes()
}
