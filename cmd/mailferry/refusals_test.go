package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/imapserver/servertest"
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
	// The line names the message once, each part labelled.
	want := `failed: source folder "INBOX", message 1700000002.M2P1.test,S=6003 (subject "message 2 in INBOX"), ` +
		`destination folder "INBOX": imap carol@` + s.IMAPAddr + `: APPEND: NO [LIMIT] Mail size is larger than the maximum size allowed by server configuration` + "\n"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("no failure line\n%s\nin:\n%s", want, r)
	}
	if !strings.Contains(r.stdout, "copied 6 messages") || !strings.Contains(r.stdout, "failed 2") {
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
	m := regexp.MustCompile(`over its quota: (\d+) messages? \([^)]*\) (?:was|were) copied and recorded before it refused more`).FindStringSubmatch(r.stderr)
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

// Dovecot refuses a '.' in a folder name (Maildir++ without listescape):
// the folder is stored under the one rename rule's name, reported, listed in
// the summary, found again by a re-run and followed by verify.
func TestDovecotRefusedFolderIsRenamed(t *testing.T) {
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
	srcEP := "maildir:" + src + "?layout=fs"
	state := filepath.Join(t.TempDir(), "state")
	r := copyIntoDovecot(t, s, srcEP, "--state", state)
	expectCode(t, r, 0)
	warning := `warning: imap carol@` + s.IMAPAddr + ` refused to create folder "v1.2" (NO [CANNOT] Character not allowed in mailbox name: '.'); its messages are stored in "v1_2" instead`
	if got := strings.Count(r.stderr, warning); got != 1 {
		t.Errorf("%d warnings %q, want 1:\n%s", got, warning, r)
	}
	if !strings.Contains(r.stdout, "copied 9 messages") || !strings.Contains(r.stdout, `renamed: folder "v1.2" is stored as "v1_2" (the destination refused the name)`) {
		t.Errorf("the summary does not list the copy and the rename:\n%s", r)
	}
	if got := storedMessages(t, s); got != 9 {
		t.Errorf("Dovecot holds %d messages, want 9", got)
	}
	// A re-run without state finds the renamed folder and copies nothing.
	r = copyIntoDovecot(t, s, srcEP)
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "copied 0 messages") {
		t.Errorf("the re-run copied again:\n%s", r)
	}
	if got := storedMessages(t, s); got != 9 {
		t.Errorf("after the re-run Dovecot holds %d messages, want 9", got)
	}
	// verify follows the rename.
	v := mailferry(t, []string{"MAILFERRY_DEST_PASSWORD=" + dovecotUser.Password}, "verify", srcEP,
		"imap://"+dovecotUser.Name+"@"+s.IMAPAddr, "--ca-file", s.CAFile)
	expectCode(t, v, 0)
}

// An IMAP source streams while the destination fills up: the run must still
// stop within 5 s, with exit 1, and say how much it copied.
func TestDovecotOverQuotaFromIMAPSourceStops(t *testing.T) {
	const quota = 5
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{dovecotUser}, QuotaMessages: quota})
	src := servertest.Start(t, imapserver.Options{Users: []imapserver.User{{Name: "alice", Password: "s3cret"}}})
	for i := 0; i < 300; i++ {
		body := []byte(strings.ReplaceAll(message("INBOX", i, 20000).body, "\n", "\r\n"))
		if err := src.AddMessage("alice", "INBOX", nil, time.Unix(1700000000+int64(i), 0), body); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(t.TempDir(), "state")
	start := time.Now()
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret", "MAILFERRY_DEST_PASSWORD=" + dovecotUser.Password},
		"copy", "imap://alice@"+src.Addr()+"?tls=none", "imap://"+dovecotUser.Name+"@"+s.IMAPAddr, "--ca-file", s.CAFile,
		"--state", state)
	took := time.Since(start)
	expectCode(t, r, exitFailed)
	if took > 5*time.Second {
		t.Errorf("the run took %v to stop after [OVERQUOTA]; want under 5s", took)
	}
	m := regexp.MustCompile(`over its quota: (\d+) messages?`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("the error does not say how much was copied:\n%s", r)
	}
	copied, _ := strconv.Atoi(m[1])
	stored := storedMessages(t, s)
	// Dovecot's count quota lets concurrent APPENDs overshoot it a little,
	// and an APPEND abandoned as the run stops may be stored unrecorded:
	// what is reported copied is stored, perhaps with a few more.
	if copied > stored || stored < quota {
		t.Errorf("the error says %d copied; Dovecot holds %d; the quota is %d", copied, stored, quota)
	}
	t.Logf("stopped after %v: %d message(s) reported copied, %d stored, quota %d", took, copied, stored, quota)

	// Run again, still over quota: what is stored, recorded or not, is
	// not stored a second time.
	r = mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret", "MAILFERRY_DEST_PASSWORD=" + dovecotUser.Password},
		"copy", "imap://alice@"+src.Addr()+"?tls=none", "imap://"+dovecotUser.Name+"@"+s.IMAPAddr, "--ca-file", s.CAFile,
		"--state", state)
	expectCode(t, r, exitFailed)
	if !strings.Contains(r.stderr, "the destination is over its quota") {
		t.Errorf("the re-run does not say the destination is full:\n%s", r)
	}
	// A few more may arrive (see above); none twice.
	files := messageFiles(t, s.MailDir(dovecotUser.Name))
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f] {
			t.Errorf("a message is stored twice after the re-run:\n%.200s", f)
		}
		seen[f] = true
	}
	t.Logf("after the re-run: %d stored, %d before", len(files), stored)
}

// A source folder the server refuses to open (Dovecot's answer for a
// shared folder without read rights) fails only that folder.
func TestSourceFolderRefusedFailsOnlyThatFolder(t *testing.T) {
	src := servertest.Start(t, imapserver.Options{
		Users: []imapserver.User{{Name: "alice", Password: "s3cret"}},
		Refuse: func(command, folder string) *imap.Error {
			if command == "EXAMINE" && folder == "Shared/Board" {
				return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNoPerm, Text: "Permission denied"}
			}
			return nil
		},
	})
	for i, folder := range []string{"INBOX", "INBOX", "Shared/Board", "Projects"} {
		body := []byte(strings.ReplaceAll(message(folder, i, 300).body, "\n", "\r\n"))
		if err := src.AddMessage("alice", folder, nil, time.Unix(1700000000+int64(i), 0), body); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(t.TempDir(), "backup")
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, "copy", "imap://alice@"+src.Addr()+"?tls=none", "maildir:"+dst)
	expectCode(t, r, exitPartial)
	failures := regexp.MustCompile(`(?m)^failed: .*"Shared/Board".*EXAMINE.*NO \[NOPERM\] Permission denied$`).FindAllString(r.stderr, -1)
	if len(failures) != 1 || strings.Count(r.stderr, "failed: ") != 1 {
		t.Errorf("want one failure line for the refused folder with the server's answer:\n%s", r)
	}
	if !strings.Contains(r.stdout, "copied 3 messages") {
		t.Errorf("the other folders were not copied:\n%s", r)
	}
	if got := len(messageFiles(t, dst)); got != 3 {
		t.Errorf("the backup holds %d messages, want 3", got)
	}
}
