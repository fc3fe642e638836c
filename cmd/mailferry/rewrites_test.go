package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/imapserver"
)

// rewriteLikeCourierAndCyrus stores a message as those servers do: a final
// CRLF added when it is missing, 8-bit header bytes replaced with X.
func rewriteLikeCourierAndCyrus(_ string, body []byte) []byte {
	body = bytes.Clone(body)
	end := formats.HeaderEnd(body)
	for i := 0; i < end; i++ {
		if body[i] >= 0x80 {
			body[i] = 'X'
		}
	}
	if !bytes.HasSuffix(body, []byte("\r\n")) {
		body = append(body, "\r\n"...)
	}
	return body
}

// A destination that stores something other than what was sent: copy
// names each message so stored and how, and counts them in the summary;
// the run succeeds, as the mail is there, and a re-run copies nothing.
func TestCopyReportsWhatTheDestinationRewrote(t *testing.T) {
	srv, err := imapserver.Start(imapserver.Options{Users: []imapserver.User{{Name: "bob", Password: "pw"}}, StoreBody: rewriteLikeCourierAndCyrus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	msgs := []testMessage{message("INBOX", 0, 300), message("INBOX", 1, 300), message("INBOX", 2, 300)}
	// No final line end; an 8-bit (Latin-1) Subject.
	msgs[1].body = strings.TrimSuffix(msgs[1].body, "\n")
	msgs[2].body = strings.Replace(msgs[2].body, "Subject: message 2", "Subject: caf\xe9 message 2", 1)
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, msgs)
	dest := "imap://bob@" + srv.Addr() + "?tls=none"
	state := filepath.Join(t.TempDir(), "state")
	r := mailferry(t, []string{"MAILFERRY_DEST_PASSWORD=pw"}, "copy", "maildir:"+src, dest, "--state", state)
	expectCode(t, r, 0)
	wire := func(m testMessage) int { return len(m.body) + strings.Count(m.body, "\n") }
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^warning: source folder "INBOX": message 1700000001\.M1P1\.test,S=\d+ was stored differently in destination folder "INBOX": ` +
			itoaRe(wire(msgs[1])) + ` bytes sent, ` + itoaRe(wire(msgs[1])+2) + ` stored \(a final CRLF was added, as Courier does\)$`),
		regexp.MustCompile(`(?m)^warning: source folder "INBOX": message 1700000002\.M2P1\.test,S=\d+ was stored differently in destination folder "INBOX": ` +
			itoaRe(wire(msgs[2])) + ` bytes sent, ` + itoaRe(wire(msgs[2])) + ` stored \(8-bit bytes in the header were replaced with X, as Cyrus does\)$`),
	} {
		if !want.MatchString(r.stderr) {
			t.Errorf("no line matching %s:\n%s", want, r)
		}
	}
	if strings.Contains(r.stderr, "1700000000.M0P1") {
		t.Errorf("the message stored as sent is reported:\n%s", r)
	}
	if !strings.Contains(r.stdout, "copied 3 messages") || !strings.Contains(r.stdout, "2 messages stored differently by the destination (listed above)") {
		t.Errorf("the summary does not count 2 messages stored differently:\n%s", r)
	}
	again := mailferry(t, []string{"MAILFERRY_DEST_PASSWORD=pw"}, "copy", "maildir:"+src, dest)
	expectCode(t, again, 0)
	if !strings.Contains(again.stdout, "copied 0 messages") {
		t.Errorf("a re-run without state copied again:\n%s", again)
	}
}

func itoaRe(n int) string { return regexp.QuoteMeta(strconv.Itoa(n)) }
