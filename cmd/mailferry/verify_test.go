package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var verifySummaryLine = regexp.MustCompile(`^\{"type":"verify-summary","checked":\d+,"missing":\d+,"flag_diffs":\d+,"date_diffs":\d+,"extra":\d+\}$`)

// lastVerifySummary checks that every line of verify --json output is JSON
// and the last is the summary, and returns it parsed.
func lastVerifySummary(t *testing.T, r result) jsonVerifySummary {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("not a JSON line: %q", l)
		}
	}
	last := lines[len(lines)-1]
	if !verifySummaryLine.MatchString(last) {
		t.Fatalf("last line of --json output is not the verify summary: %q\n%s", last, r)
	}
	var s jsonVerifySummary
	if err := json.Unmarshal([]byte(last), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// findMessage returns the path of the one message file under root whose
// content contains needle.
func findMessage(t *testing.T, root, needle string) string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		parent := filepath.Base(filepath.Dir(p))
		if d.Type().IsRegular() && (parent == "cur" || parent == "new") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if strings.Contains(string(b), needle) {
				found = append(found, p)
			}
		}
		return nil
	})
	if err != nil || len(found) != 1 {
		t.Fatalf("message files containing %q under %s: %q (%v)", needle, root, found, err)
	}
	return found[0]
}

func TestVerifyAfterCopyToMbox(t *testing.T) {
	src, msgs := smallMaildir(t)
	for _, dest := range []string{filepath.Join(t.TempDir(), "archive"), filepath.Join(t.TempDir(), "all.mbox")} {
		r := mailferry(t, nil, "copy", "maildir:"+src, "mbox:"+dest, "-q")
		expectCode(t, r, 0)

		r = mailferry(t, nil, "verify", "maildir:"+src, "mbox:"+dest, "--json")
		expectCode(t, r, 0)
		s := lastVerifySummary(t, r)
		if s.Checked != len(msgs) || s.Missing+s.FlagDiffs+s.DateDiffs+s.Extra != 0 {
			t.Errorf("verify %s: %+v, want %d checked and nothing else\n%s", dest, s, len(msgs), r)
		}

		r = mailferry(t, nil, "verify", "maildir:"+src, "mbox:"+dest)
		expectCode(t, r, 0)
		if !strings.Contains(r.stdout, "verified 10 messages: all at the destination") {
			t.Errorf("text summary:\n%s", r)
		}
		r = mailferry(t, nil, "verify", "maildir:"+src, "mbox:"+dest, "-q")
		expectCode(t, r, 0)
		if r.stdout != "" || r.stderr != "" {
			t.Errorf("-q printed something although everything matches:\n%s", r)
		}
	}
}

func TestVerifyFindsDifferences(t *testing.T) {
	src, msgs := smallMaildir(t)
	dst := filepath.Join(t.TempDir(), "copy")
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "-q")
	expectCode(t, r, 0)
	r = mailferry(t, nil, "verify", "maildir:"+src, "maildir:"+dst)
	expectCode(t, r, 0)

	// One message deleted, one flagged at the destination only.
	if err := os.Remove(findMessage(t, dst, "Subject: message 3 in INBOX")); err != nil {
		t.Fatal(err)
	}
	flagged := findMessage(t, dst, "Subject: message 6 in Sent")
	if !strings.HasSuffix(flagged, ":2,S") {
		t.Fatalf("unexpected file name %s", flagged)
	}
	if err := os.Rename(flagged, strings.TrimSuffix(flagged, "S")+"FS"); err != nil {
		t.Fatal(err)
	}
	srcMissing := filepath.Base(findMessage(t, src, "Subject: message 3 in INBOX"))
	srcMissingID, _, _ := strings.Cut(srcMissing, ":2,")

	r = mailferry(t, nil, "verify", "maildir:"+src, "maildir:"+dst)
	expectCode(t, r, exitPartial)
	missing := regexp.MustCompile(`(?m)^missing: folder "INBOX" message ` + regexp.QuoteMeta(srcMissingID) +
		` \(Subject "message 3 in INBOX", Message-ID <3\.INBOX@test\.example>\): content differs or missing`)
	if !missing.MatchString(r.stdout) {
		t.Errorf("no line naming the missing message %s:\n%s", srcMissingID, r)
	}
	if !regexp.MustCompile(`(?m)^flags differ: folder "Sent" message \S+ \(Subject "message 6 in Sent".*source has \\Seen, destination "Sent" message \S+ has \\Flagged \\Seen$`).MatchString(r.stdout) {
		t.Errorf("no line naming the flag difference:\n%s", r)
	}
	if !strings.Contains(r.stdout, "verified 10 messages: 1 missing or different, 1 flag and 0 date difference") {
		t.Errorf("text summary:\n%s", r)
	}

	r = mailferry(t, nil, "verify", "maildir:"+src, "maildir:"+dst, "--json")
	expectCode(t, r, exitPartial)
	s := lastVerifySummary(t, r)
	if s != (jsonVerifySummary{Type: "verify-summary", Checked: len(msgs), Missing: 1, FlagDiffs: 1}) {
		t.Errorf("summary %+v\n%s", s, r)
	}
	var sawMissing bool
	for _, l := range strings.Split(r.stdout, "\n") {
		var d jsonDifference
		if json.Unmarshal([]byte(l), &d) == nil && d.Type == "missing" {
			sawMissing = d.Folder == "INBOX" && d.ID == srcMissingID && d.Subject == "message 3 in INBOX"
		}
	}
	if !sawMissing {
		t.Errorf("no JSON line for the missing message:\n%s", r)
	}

	// A date changed at the destination; only differences from here on.
	dated := findMessage(t, dst, "Subject: message 8 in Archive/2019")
	if err := os.Chtimes(dated, time.Unix(1600000000, 0), time.Unix(1600000000, 0)); err != nil {
		t.Fatal(err)
	}
	r = mailferry(t, nil, "verify", "maildir:"+src, "maildir:"+dst, "--include", "^Archive", "--json")
	expectCode(t, r, exitPartial)
	if s := lastVerifySummary(t, r); s.Checked != 2 || s.DateDiffs != 1 || s.Missing != 0 {
		t.Errorf("date change: %+v\n%s", s, r)
	}

	// An extra message at the destination is shown with -v and is no failure.
	r = mailferry(t, nil, "verify", "maildir:"+dst, "maildir:"+src, "--include", "^INBOX$", "-v")
	expectCode(t, r, 0)
	if !regexp.MustCompile(`(?m)^extra \(not in the source\): folder "INBOX" message ` + regexp.QuoteMeta(srcMissingID)).MatchString(r.stdout) {
		t.Errorf("the extra message is not listed with -v:\n%s", r)
	}
	if !strings.Contains(r.stderr, "INBOX → INBOX: 4 messages checked, all present") {
		t.Errorf("-v shows no folder line:\n%s", r)
	}
}

// TestVerifyMissingFolderOneLine: a folder the destination does not have is
// one line naming it and its message count, in text and in JSON.
func TestVerifyMissingFolderOneLine(t *testing.T) {
	src, msgs := smallMaildir(t)
	dst := filepath.Join(t.TempDir(), "copy")
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--exclude", "^Sent$", "-q")
	expectCode(t, r, 0)
	sent := 0
	for _, m := range msgs {
		if m.folder == "Sent" {
			sent++
		}
	}
	if sent < 2 {
		t.Fatalf("the fixture has %d message(s) in Sent, want several", sent)
	}

	r = mailferry(t, nil, "verify", "maildir:"+src, "maildir:"+dst)
	expectCode(t, r, exitPartial)
	want := fmt.Sprintf(`missing: folder "Sent", %d messages: destination folder "Sent" does not exist`, sent)
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if len(lines) != 2 || lines[0] != want {
		t.Errorf("stdout %q, want the line %q and the summary", lines, want)
	}
	if !strings.Contains(r.stdout, fmt.Sprintf("verified %d messages: %d missing or different", len(msgs), sent)) {
		t.Errorf("text summary:\n%s", r)
	}

	r = mailferry(t, nil, "verify", "maildir:"+src, "maildir:"+dst, "--json")
	expectCode(t, r, exitPartial)
	if s := lastVerifySummary(t, r); s.Missing != sent || s.Checked != len(msgs) {
		t.Errorf("summary %+v, want %d missing of %d", s, sent, len(msgs))
	}
	lines = strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	var d jsonDifference
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &d) != nil ||
		d.Type != "missing" || d.Folder != "Sent" || d.ID != "" || d.DestFolder != "Sent" || d.Messages != sent ||
		d.Reason != `destination folder "Sent" does not exist` {
		t.Errorf("JSON lines %q", lines)
	}
}

func TestVerifyUsageErrors(t *testing.T) {
	src, _ := smallMaildir(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", "maildir:" + src}, "exactly two endpoints"},
		{[]string{"verify", "maildir:" + src, "pop3s://bob@127.0.0.1"}, "POP3"},
		{[]string{"verify", "maildir:" + src, "maildir:" + filepath.Join(t.TempDir(), "none")}, "does not exist"},
		{[]string{"verify", "maildir:" + src, "maildir:" + src, "--since", "2020-13-01"}, "--since"},
		{[]string{"verify", "maildir:" + src, "maildir:" + src, "--dry-run"}, "dry-run"},
	} {
		r := mailferry(t, nil, tc.args...)
		expectCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: error does not say %q:\n%s", tc.args, tc.want, r)
		}
	}
}

func TestVerifyIMAP(t *testing.T) {
	srv, ca := startIMAP(t)
	ep := "imaps://alice%40example.com@" + srv.TLSAddr()
	dst := filepath.Join(t.TempDir(), "backup")
	env := []string{"MAILFERRY_SOURCE_PASSWORD=s3cret", "MAILFERRY_DEST_PASSWORD=s3cret"}
	r := mailferry(t, env, "copy", ep, "maildir:"+dst, "--ca-file", ca, "-q")
	expectCode(t, r, 0)
	// CRLF on the server, LF in the backup: equal.
	r = mailferry(t, env, "verify", ep, "maildir:"+dst, "--ca-file", ca, "--json")
	expectCode(t, r, 0)
	if s := lastVerifySummary(t, r); s.Checked != 4 || s.Missing != 0 || s.Extra != 0 {
		t.Errorf("IMAP → Maildir: %+v\n%s", s, r)
	}
	// The other way round, with the server as the destination.
	r = mailferry(t, env, "verify", "maildir:"+dst, ep, "--ca-file", ca, "--json")
	expectCode(t, r, 0)
	if s := lastVerifySummary(t, r); s.Checked != 4 {
		t.Errorf("Maildir → IMAP: %+v\n%s", s, r)
	}
	// A message the server gained since is extra, not missing.
	if err := os.Remove(findMessage(t, dst, "Subject: message 0 in INBOX")); err != nil {
		t.Fatal(err)
	}
	r = mailferry(t, env, "verify", "maildir:"+dst, ep, "--ca-file", ca, "--json")
	expectCode(t, r, 0)
	if s := lastVerifySummary(t, r); s.Checked != 3 || s.Extra != 1 {
		t.Errorf("extra on the server: %+v\n%s", s, r)
	}
	r = mailferry(t, env, "verify", ep, "maildir:"+dst, "--ca-file", ca)
	expectCode(t, r, exitPartial)
	if !strings.Contains(r.stdout, `missing: folder "INBOX" message `) || !strings.Contains(r.stdout, `Subject "message 0 in INBOX"`) {
		t.Errorf("missing message not named:\n%s", r)
	}
}
