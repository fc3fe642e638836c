package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/imapserver"
)

// countStored counts alice's messages on an in-process server, per folder.
func countStored(t *testing.T, srv *imapserver.Server, user, password string) map[string]int {
	t.Helper()
	d, err := imapserver.Dump(srv.Addr(), nil, user, password)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for f, msgs := range d {
		out[f] = len(msgs)
	}
	return out
}

// A server advertising APPENDLIMIT smaller than one message: that message
// is refused before it is sent, with a reason naming both sizes; the rest
// are copied; exit 3. A re-run tries it again and refuses it again.
func TestAppendLimitRefusesOneMessageAndCopiesTheRest(t *testing.T) {
	srv, err := imapserver.Start(imapserver.Options{Users: []imapserver.User{{Name: "bob", Password: "pw"}}, AppendLimit: 3000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	var msgs []testMessage
	for i := 0; i < 6; i++ {
		size := 500
		if i == 3 {
			size = 5000
		}
		msgs = append(msgs, message("INBOX", i, size))
	}
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, msgs)
	state := filepath.Join(t.TempDir(), "state")
	dest := "imap://bob@" + srv.Addr() + "?tls=none"
	for run := 0; run < 2; run++ {
		r := mailferry(t, []string{"MAILFERRY_DEST_PASSWORD=pw"}, "copy", "maildir:"+src, dest, "--state", state)
		expectCode(t, r, exitPartial)
		// The large message has LF line ends: APPEND sends one CR more a line.
		size := len(msgs[3].body)
		wire := size + strings.Count(msgs[3].body, "\n")
		want := regexp.MustCompile(`(?m)^failed: source folder "INBOX", message 1700000003\.M3P1\.test,S=` + strconv.Itoa(size) + ` \(subject "message 3 in INBOX"\), ` +
			`destination folder "INBOX": imap bob@` + regexp.QuoteMeta(srv.Addr()) + `: not sent: the message is ` +
			strconv.Itoa(wire) + ` bytes, more than the 3000 bytes the server accepts \(its APPENDLIMIT, RFC 7889\)$`)
		if got := len(want.FindAllString(r.stderr, -1)); got != 1 {
			t.Errorf("run %d: %d failure lines matching %s, want 1:\n%s", run, got, want, r)
		}
		if strings.Count(r.stderr, "failed: ") != 1 {
			t.Errorf("run %d: want exactly one failed message:\n%s", run, r)
		}
		wantCopied := "copied 5 messages"
		if run == 1 {
			wantCopied = "copied 0 messages"
		}
		if !strings.Contains(r.stdout, wantCopied) || !strings.Contains(r.stdout, "failed 1") {
			t.Errorf("run %d: the summary does not say %q, failed 1:\n%s", run, wantCopied, r)
		}
		if got := countStored(t, srv, "bob", "pw")["INBOX"]; got != 5 {
			t.Errorf("run %d: the server holds %d messages, want the 5 small ones", run, got)
		}
	}
}
