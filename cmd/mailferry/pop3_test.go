package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/pop3server"
)

func startPOP3(t *testing.T, n int) *pop3server.Server {
	t.Helper()
	var msgs []pop3server.Message
	for i := 0; i < n; i++ {
		msgs = append(msgs, pop3server.Message{UID: fmt.Sprintf("uid-%d", i), Body: []byte(message("INBOX", i, 400).body)})
	}
	srv, err := pop3server.Start(pop3server.Options{User: "alice", Password: "s3cret", Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func TestPOP3WrongPassword(t *testing.T) {
	srv := startPOP3(t, 2)
	ep := "pop3://alice@" + srv.Addr() + "?tls=none"
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=wrong"}, "copy", ep, "maildir:"+filepath.Join(t.TempDir(), "d"))
	expectCode(t, r, exitFailed)
	if !strings.Contains(r.stderr, srv.Addr()) || !strings.Contains(r.stderr, "alice") {
		t.Errorf("the error does not name the server and user:\n%s", r)
	}
	if strings.Contains(r.stderr, "wrong") {
		t.Errorf("the password was echoed:\n%s", r)
	}
}

func TestPOP3ConnectionRefused(t *testing.T) {
	srv := startPOP3(t, 0)
	addr := srv.Addr()
	srv.Close()
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, "copy", "pop3://alice@"+addr+"?tls=none", "maildir:"+filepath.Join(t.TempDir(), "d"))
	expectCode(t, r, exitFailed)
	if !strings.Contains(r.stderr, addr) {
		t.Errorf("the error does not name the server:\n%s", r)
	}
}

func TestPOP3ToMaildirWithPasswordFile(t *testing.T) {
	const n = 7
	srv := startPOP3(t, n)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("s3cret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "backup")
	ep := "pop3://alice@" + srv.Addr() + "?tls=none"
	r := mailferry(t, nil, "copy", ep, "maildir:"+dst, "--source-password-file", pw, "--json")
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != n {
		t.Fatalf("copied %d, want %d\n%s", s.Copied, n, r)
	}
	got := messageFiles(t, dst)
	if len(got) != n {
		t.Fatalf("backup holds %d messages, want %d", len(got), n)
	}
	for _, body := range got {
		if strings.Contains(body, "\r\n") {
			t.Errorf("a Maildir message kept CRLF line endings: %q", body[:40])
		}
	}
	// The password command works the same, and a re-run copies nothing.
	r = mailferry(t, nil, "copy", ep, "maildir:"+dst, "--source-password-command", "printf 's3cret\\n'", "--json")
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != 0 {
		t.Errorf("re-run copied %d again", s.Copied)
	}
	// --delete-source empties the maildrop once the copies are durable.
	r = mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, "copy", ep, "maildir:"+dst, "--delete-source", "-q")
	expectCode(t, r, 0)
	if left := len(srv.Messages()); left != 0 {
		t.Errorf("%d messages left on the server after --delete-source", left)
	}
	if got := len(messageFiles(t, dst)); got != n {
		t.Errorf("backup holds %d messages after --delete-source, want %d", got, n)
	}
}

// A maildrop still locked by the session of a run that was killed answers
// -ERR [IN-USE] for a few seconds; copy waits and tries again instead of
// failing the scheduled backup.
func TestPOP3InUseAtStartIsRetried(t *testing.T) {
	const n = 3
	srv := startPOP3(t, n)
	srv.SetFaults(pop3server.Faults{LoginError: "[IN-USE] maildrop locked by another session", Times: 2})
	dst := filepath.Join(t.TempDir(), "backup")
	ep := "pop3://alice@" + srv.Addr() + "?tls=none"
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, "copy", ep, "maildir:"+dst, "--json")
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != n {
		t.Fatalf("copied %d, want %d\n%s", s.Copied, n, r)
	}
	// With --json, warnings are JSON lines on stdout.
	if strings.Count(r.stdout, `"type":"warning"`) != 2 || strings.Count(r.stdout, "IN-USE") != 2 || !strings.Contains(r.stdout, "trying again") {
		t.Errorf("want two warnings naming the refusal:\n%s", r)
	}
}

// A maildrop that stays locked fails the run with exit 1 after the retries,
// naming the server and the reason.
func TestPOP3InUseForeverFails(t *testing.T) {
	t.Parallel() // waits out the retries: 15 s
	srv := startPOP3(t, 1)
	srv.SetFaults(pop3server.Faults{LoginError: "[IN-USE] maildrop locked by another session"})
	ep := "pop3://alice@" + srv.Addr() + "?tls=none"
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, "copy", ep, "maildir:"+filepath.Join(t.TempDir(), "d"))
	expectCode(t, r, exitFailed)
	if !strings.Contains(r.stderr, srv.Addr()) || !strings.Contains(r.stderr, "IN-USE") {
		t.Errorf("the error does not name the server and the refusal:\n%s", r)
	}
}

// A POP3 maildrop is read over one session by default, over more only
// when --connections asks for them (and the server lets sessions share
// it); either way every message arrives once.
func TestPOP3SessionsOnlyWithConnections(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		sessions func(int) bool
		want     string
	}{
		{nil, func(n int) bool { return n == 1 }, "one"},
		{[]string{"--connections", "3"}, func(n int) bool { return n > 1 && n <= 3 }, "2 or 3"},
	} {
		var msgs []pop3server.Message
		for i := range 1200 { // chunks of 256 messages, fetched side by side
			msgs = append(msgs, pop3server.Message{UID: fmt.Sprintf("uid-%d", i), Body: []byte(message("INBOX", i, 300).body)})
		}
		srv, err := pop3server.Start(pop3server.Options{User: "alice", Password: "s3cret", Messages: msgs, SharedMaildrop: true})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		dst := filepath.Join(t.TempDir(), "d")
		args := append([]string{"copy", "pop3://alice@" + srv.Addr() + "?tls=none", "maildir:" + dst, "-q"}, tc.args...)
		r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, args...)
		expectCode(t, r, 0)
		if n := srv.Sessions(); !tc.sessions(n) {
			t.Errorf("%v: %d sessions, want %s", tc.args, n, tc.want)
		}
		if got := len(messageFiles(t, dst)); got != len(msgs) {
			t.Errorf("%v: %d messages copied, want %d", tc.args, got, len(msgs))
		}
	}
}
