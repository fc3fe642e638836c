package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecot"
)

// Tests of what a real server refuses: Dovecot with a maximum message size,
// with a full quota, and with folder names it cannot store. Each copies a
// local Maildir into Dovecot over STARTTLS and judges the exit code, the
// failure lines and what Dovecot holds afterwards.

var dovecotUser = dovecot.User{Name: "carol", Password: "dovecot-pw"}

// copyIntoDovecot runs mailferry copy from a local endpoint into carol's
// account on s.
func copyIntoDovecot(t *testing.T, s *dovecot.Server, src string, extra ...string) result {
	t.Helper()
	args := append([]string{"copy", src, "imap://" + dovecotUser.Name + "@" + s.IMAPAddr, "--ca-file", s.CAFile,
		"--state", filepath.Join(t.TempDir(), "state")}, extra...)
	return mailferry(t, []string{"MAILFERRY_DEST_PASSWORD=" + dovecotUser.Password}, args...)
}

// storedMessages counts the message files Dovecot holds for the user.
func storedMessages(t *testing.T, s *dovecot.Server) int {
	t.Helper()
	root := s.MailDir(dovecotUser.Name)
	if _, err := os.Stat(root); os.IsNotExist(err) {
		return 0
	}
	return len(messageFiles(t, root))
}

func TestDovecotLimitFailsOnlyTheLargeMessages(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{dovecotUser}, MaxMailSize: "2k"})
	var msgs []testMessage
	for i := 0; i < 8; i++ {
		size := 400
		if i == 2 || i == 5 {
			size = 6000
		}
		msgs = append(msgs, message("INBOX", i, size))
	}
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, msgs)

	r := copyIntoDovecot(t, s, "maildir:"+src)
	expectCode(t, r, exitPartial)
	failures := regexp.MustCompile(`(?m)^failed: .*NO \[LIMIT\] Mail size is larger than the maximum size allowed by server configuration$`).FindAllString(r.stderr, -1)
	if len(failures) != 2 {
		t.Errorf("want 2 failure lines with the server's [LIMIT] refusal, got %d:\n%s", len(failures), r)
	}
	if !strings.Contains(r.stdout, "copied 6 message(s)") || !strings.Contains(r.stdout, "failed 2") {
		t.Errorf("the summary does not say 6 copied, 2 failed:\n%s", r)
	}
	if got := storedMessages(t, s); got != 6 {
		t.Errorf("Dovecot holds %d messages, want the 6 small ones", got)
	}
}

func TestDovecotOverQuotaStopsAndSaysHowMuchWasCopied(t *testing.T) {
	const quota = 5
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{dovecotUser}, QuotaMessages: quota})
	var msgs []testMessage
	for i := 0; i < 40; i++ {
		msgs = append(msgs, message("INBOX", i, 400))
	}
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, msgs)

	// One connection, so no other APPEND is in flight when the refusal
	// stops the run and the count can be checked exactly.
	start := time.Now()
	r := copyIntoDovecot(t, s, "maildir:"+src, "--connections", "1")
	took := time.Since(start)
	expectCode(t, r, exitFailed)
	if took > 5*time.Second {
		t.Errorf("the run took %v to stop after [OVERQUOTA]; want under 5s", took)
	}
	m := regexp.MustCompile(`over its quota: (\d+) message\(s\) \([^)]*\) were copied before it refused more`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("the error does not say the destination is full and how much was copied:\n%s", r)
	}
	copied, _ := strconv.Atoi(m[1])
	if stored := storedMessages(t, s); copied != stored || stored != quota {
		t.Errorf("the error says %d copied; Dovecot holds %d; the quota is %d messages", copied, stored, quota)
	}
	if !strings.Contains(r.stderr, "[OVERQUOTA]") {
		t.Errorf("the server's answer is not shown:\n%s", r)
	}
}

func TestDovecotRefusedFolderFailsOnlyThatFolder(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{dovecotUser}, StrictNames: true})
	// A Maildir with nested folder directories can hold a '.' in a name.
	src := filepath.Join(t.TempDir(), "src")
	files := map[string]int{"": 3, "Projects": 2, "v1.2": 4}
	n := 0
	for dir, count := range files {
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(src, dir, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < count; i++ {
			n++
			m := message(dir, n, 300)
			name := strconv.Itoa(1700000000+n) + ".M" + strconv.Itoa(n) + "P1.test:2,S"
			if err := os.WriteFile(filepath.Join(src, dir, "cur", name), []byte(m.body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	r := copyIntoDovecot(t, s, "maildir:"+src+"?layout=fs")
	expectCode(t, r, exitPartial)
	want := `failed: folder "v1.2", message .*: imap carol@` + regexp.QuoteMeta(s.IMAPAddr) +
		` refused to create folder "v1.2": NO \[CANNOT\] Character not allowed in mailbox name: '.'$`
	failures := regexp.MustCompile(`(?m)^`+want).FindAllString(r.stderr, -1)
	if len(failures) != 4 {
		t.Errorf("want 4 failure lines (the messages of v1.2) matching %q, got %d:\n%s", want, len(failures), r)
	}
	if got := strings.Count(r.stderr, "failed: "); got != 4 {
		t.Errorf("%d failure lines, want only the 4 of v1.2:\n%s", got, r)
	}
	if !strings.Contains(r.stdout, "copied 5 message(s)") {
		t.Errorf("the other folders were not copied:\n%s", r)
	}
	if got := storedMessages(t, s); got != 5 {
		t.Errorf("Dovecot holds %d messages, want 5 (INBOX and Projects)", got)
	}
	// The refusal is remembered: one warning, not one CREATE per message.
	if got := strings.Count(r.stderr, `warning: imap carol@`+s.IMAPAddr+` refused to create folder "v1.2"`); got != 1 {
		t.Errorf("%d warnings about the refused folder, want 1:\n%s", got, r)
	}
}
