package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecot"
)

// setMaildirFlags renames the file of message i of writeMaildir's INBOX to
// carry letters, as a mail program does when the user reads or flags it.
func setMaildirFlags(t *testing.T, root string, i int, letters string) {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(root, "cur", "*.M"+strconv.Itoa(i)+"P1.test,*"))
	if len(matches) != 1 {
		t.Fatalf("message %d: files %v", i, matches)
	}
	base, _, _ := strings.Cut(matches[0], ":2,")
	if err := os.Rename(matches[0], base+":2,"+letters); err != nil {
		t.Fatal(err)
	}
}

// Flags changed at the source after a first copy reach the copies on the
// next run, into Dovecot (UID STORE) and into a Maildir (rename), and
// verify then passes; --no-sync-flags leaves them.
func TestCopySyncsChangedFlags(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{dovecotUser}})
	var msgs []testMessage
	for i := range 8 {
		msgs = append(msgs, message("INBOX", i, 500))
	}
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, msgs)
	dests := map[string]string{
		"dovecot": "imap://" + dovecotUser.Name + "@" + s.IMAPAddr,
		"maildir": "maildir:" + filepath.Join(t.TempDir(), "backup"),
	}
	env := []string{"MAILFERRY_DEST_PASSWORD=" + dovecotUser.Password}
	states := map[string]string{}
	for name, dst := range dests {
		states[name] = filepath.Join(t.TempDir(), "state")
		r := mailferry(t, env, "copy", "maildir:"+src, dst, "--ca-file", s.CAFile, "--state", states[name])
		expectCode(t, r, 0)
	}
	setMaildirFlags(t, src, 2, "FS") // flagged
	setMaildirFlags(t, src, 5, "")   // marked unread
	for name, dst := range dests {
		r := mailferry(t, env, "copy", "maildir:"+src, dst, "--ca-file", s.CAFile, "--state", states[name], "--no-sync-flags")
		expectCode(t, r, 0)
		if strings.Contains(r.stdout, "flags updated") {
			t.Errorf("%s: --no-sync-flags updated flags:\n%s", name, r)
		}
		v := mailferry(t, env, "verify", "maildir:"+src, dst, "--ca-file", s.CAFile)
		expectCode(t, v, exitPartial)

		r = mailferry(t, env, "copy", "maildir:"+src, dst, "--ca-file", s.CAFile, "--state", states[name])
		expectCode(t, r, 0)
		if !strings.Contains(r.stdout, "copied 0 messages") || !strings.Contains(r.stdout, "flags updated on 2") {
			t.Errorf("%s: the re-run did not update 2 messages' flags:\n%s", name, r)
		}
		v = mailferry(t, env, "verify", "maildir:"+src, dst, "--ca-file", s.CAFile)
		expectCode(t, v, 0)
		r = mailferry(t, env, "copy", "maildir:"+src, dst, "--ca-file", s.CAFile, "--state", states[name])
		expectCode(t, r, 0)
		if strings.Contains(r.stdout, "flags updated") {
			t.Errorf("%s: flags updated again:\n%s", name, r)
		}
	}
}

// --map-regex renames folders by pattern, and verify with the same option
// finds them.
func TestCopyMapRegex(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, []testMessage{message("INBOX", 1, 300), message("Archive/2019", 2, 300), message("Archive/2020", 3, 300), message("Archive/misc", 4, 300)})
	dst := filepath.Join(t.TempDir(), "dst")
	args := []string{"maildir:" + src, "maildir:" + dst, "--map-regex", `Archive/(\d+)=Old/$1`}
	r := mailferry(t, nil, append([]string{"copy"}, args...)...)
	expectCode(t, r, 0)
	for _, dir := range []string{".Old.2019", ".Old.2020", ".Archive.misc"} {
		if n := len(messageFiles(t, filepath.Join(dst, dir))); n != 1 {
			t.Errorf("%s holds %d messages, want 1", dir, n)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, ".Archive.2019")); err == nil {
		t.Error("Archive/2019 was copied under its own name too")
	}
	expectCode(t, mailferry(t, nil, append([]string{"verify"}, args...)...), 0)
	r = mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--map-regex", `Archive/(\d+`)
	expectCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "--map-regex") {
		t.Errorf("the usage error does not name the option:\n%s", r)
	}
}

// Empty source folders exist at the destination after a copy, and
// --folders-only creates the whole tree without a message, into Dovecot and
// into a Maildir.
func TestCopyCreatesEmptyFoldersAndFoldersOnly(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{dovecotUser}})
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, []testMessage{message("INBOX", 1, 300), message("Work", 2, 300)})
	for _, dir := range []string{".Empty", ".Projects.Later"} {
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(src, dir, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	env := []string{"MAILFERRY_DEST_PASSWORD=" + dovecotUser.Password}
	imapDst := "imap://" + dovecotUser.Name + "@" + s.IMAPAddr
	// --folders-only first: the tree, no message.
	r := mailferry(t, env, "copy", "maildir:"+src, imapDst, "--ca-file", s.CAFile, "--folders-only", "--state", filepath.Join(t.TempDir(), "st"))
	expectCode(t, r, 0)
	if got := storedMessages(t, s); got != 0 {
		t.Errorf("--folders-only stored %d messages", got)
	}
	f := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=" + dovecotUser.Password}, "folders", imapDst, "--ca-file", s.CAFile)
	expectCode(t, f, 0)
	for _, name := range []string{"Work", "Empty", "Projects/Later"} {
		if !strings.Contains(f.stdout, name) {
			t.Errorf("folder %s missing after --folders-only:\n%s", name, f.stdout)
		}
	}
	// A Maildir destination gets the empty folders with the copy.
	dst := filepath.Join(t.TempDir(), "dst")
	r = mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst)
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "copied 2 messages") || !strings.Contains(r.stdout, "2 empty folders created") {
		t.Errorf("summary:\n%s", r)
	}
	for _, dir := range []string{".Empty", ".Projects.Later"} {
		if st, err := os.Stat(filepath.Join(dst, dir, "cur")); err != nil || !st.IsDir() {
			t.Errorf("%s not created: %v", dir, err)
		}
	}
	r = mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst)
	expectCode(t, r, 0)
	if strings.Contains(r.stdout, "created") {
		t.Errorf("the re-run created folders again:\n%s", r)
	}
}

// --delete-extraneous removes the copies of messages deleted at the source,
// from Dovecot and from a Maildir, and never a message mailferry did not
// copy; --dry-run lists them first.
func TestCopyDeleteExtraneous(t *testing.T) {
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{dovecotUser}})
	var msgs []testMessage
	for i := range 6 {
		msgs = append(msgs, message("INBOX", i, 400))
	}
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, msgs)
	backup := filepath.Join(t.TempDir(), "backup")
	dests := map[string]string{
		"dovecot": "imap://" + dovecotUser.Name + "@" + s.IMAPAddr,
		"maildir": "maildir:" + backup,
	}
	env := []string{"MAILFERRY_DEST_PASSWORD=" + dovecotUser.Password}
	states := map[string]string{}
	for name, dst := range dests {
		states[name] = filepath.Join(t.TempDir(), "state")
		expectCode(t, mailferry(t, env, "copy", "maildir:"+src, dst, "--ca-file", s.CAFile, "--state", states[name]), 0)
	}
	// Another program's message in the backup: not mailferry's to delete.
	foreign := filepath.Join(backup, "cur", "1600000000.M1P1.elsewhere:2,S")
	if err := os.WriteFile(foreign, []byte("Subject: kept\n\nnot copied by mailferry\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 4} {
		matches, _ := filepath.Glob(filepath.Join(src, "cur", "*.M"+strconv.Itoa(i)+"P1.test,*"))
		if len(matches) != 1 || os.Remove(matches[0]) != nil {
			t.Fatalf("removing message %d: %v", i, matches)
		}
	}
	for name, dst := range dests {
		dry := mailferry(t, env, "copy", "maildir:"+src, dst, "--ca-file", s.CAFile, "--state", states[name], "--delete-extraneous", "--dry-run")
		expectCode(t, dry, 0)
		if !strings.Contains(dry.stdout, "INBOX → INBOX: 2 copies of messages gone from the source would be deleted") {
			t.Errorf("%s: the dry run does not list the deletions:\n%s", name, dry)
		}
		r := mailferry(t, env, "copy", "maildir:"+src, dst, "--ca-file", s.CAFile, "--state", states[name], "--delete-extraneous")
		expectCode(t, r, 0)
		if !strings.Contains(r.stdout, "2 deleted at the destination (gone from the source)") {
			t.Errorf("%s: summary:\n%s", name, r)
		}
	}
	if got := storedMessages(t, s); got != 4 {
		t.Errorf("Dovecot holds %d messages, want 4", got)
	}
	if got := len(messageFiles(t, backup)); got != 5 {
		t.Errorf("the Maildir holds %d messages, want 4 and the foreign one", got)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("the foreign message was deleted: %v", err)
	}
	expectCode(t, mailferry(t, env, "verify", "maildir:"+src, dests["dovecot"], "--ca-file", s.CAFile), 0)
}

// copy --verify verifies what it copied: exit 0 when all is there, exit 3
// with the differences listed when not (here: flags left behind with
// --no-sync-flags).
func TestCopyVerify(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, []testMessage{message("INBOX", 1, 300), message("INBOX", 2, 300), message("Work", 3, 300)})
	dst := filepath.Join(t.TempDir(), "dst")
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--verify")
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "verified 3 messages: all at the destination") || !strings.Contains(r.stdout, "copied 3 messages") {
		t.Errorf("copy --verify:\n%s", r)
	}
	if i, j := strings.Index(r.stdout, "verified"), strings.Index(r.stdout, "copied"); i > j {
		t.Errorf("the copy's summary must come last:\n%s", r.stdout)
	}
	setMaildirFlags(t, src, 1, "FS")
	r = mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--verify", "--no-sync-flags")
	expectCode(t, r, exitPartial)
	if !strings.Contains(r.stdout, "1 flag") {
		t.Errorf("the flag difference is not reported:\n%s", r)
	}
	r = mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--verify", "--json")
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != 0 || !strings.Contains(r.stdout, `"type":"verify-summary"`) {
		t.Errorf("copy --verify --json:\n%s", r.stdout)
	}
}

// --bwlimit and --max-messages-per-second slow a run down to their rate:
// 6 messages at 4 a second take at least 1.25 s (the first goes at once).
func TestCopyRateLimits(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	var msgs []testMessage
	for i := range 6 {
		msgs = append(msgs, message("INBOX", i, 2000))
	}
	writeMaildir(t, src, msgs)
	start := time.Now()
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+filepath.Join(t.TempDir(), "a"), "--max-messages-per-second", "4")
	expectCode(t, r, 0)
	if took := time.Since(start); took < 1250*time.Millisecond {
		t.Errorf("6 messages at 4/s took %v", took)
	}
	start = time.Now()
	r = mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+filepath.Join(t.TempDir(), "b"), "--bwlimit", "8K")
	expectCode(t, r, 0)
	if took := time.Since(start); took < 750*time.Millisecond { // 12 KB at 8 KiB/s, less the first read
		t.Errorf("12 KB at 8 KiB/s took %v", took)
	}
	for _, bad := range [][]string{{"--bwlimit", "fast"}, {"--bwlimit", "0"}, {"--max-messages-per-second", "-1"}} {
		r := mailferry(t, nil, append([]string{"copy", "maildir:" + src, "maildir:" + filepath.Join(t.TempDir(), "c")}, bad...)...)
		expectCode(t, r, exitUsage)
	}
}

// A backup deleted and started again with the state file kept gets every
// message again, with a warning.
func TestCopyIntoAnEmptiedDestination(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, []testMessage{message("INBOX", 1, 300), message("INBOX", 2, 300), message("Work", 3, 300)})
	dst := filepath.Join(t.TempDir(), "dst")
	state := filepath.Join(t.TempDir(), "state")
	expectCode(t, mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--state", state), 0)
	if err := os.RemoveAll(dst); err != nil {
		t.Fatal(err)
	}
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--state", state)
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "copied 3 messages") || !strings.Contains(r.stderr, "are copied again") {
		t.Errorf("into the emptied destination:\n%s", r)
	}
	if n := len(messageFiles(t, dst)); n != 3 {
		t.Errorf("the destination holds %d messages", n)
	}
}

// The same for mbox archives: a POP3 backup whose mbox file was moved
// away, and an mbox directory one of whose files another program pruned,
// get what they lost again on the next run, with a warning, and nothing
// twice.
func TestCopyIntoAnEmptiedMbox(t *testing.T) {
	srv := startPOP3(t, 4)
	pop := []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}
	ep := "pop3://alice@" + srv.Addr() + "?tls=none"
	file := filepath.Join(t.TempDir(), "backup.mbox")
	expectCode(t, mailferry(t, pop, "copy", ep, "mbox:"+file), 0)
	if err := os.Rename(file, file+".old"); err != nil {
		t.Fatal(err)
	}
	r := mailferry(t, pop, "copy", ep, "mbox:"+file)
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "copied 4 messages") || !strings.Contains(r.stderr, "are copied again") {
		t.Errorf("into the moved mbox file:\n%s", r)
	}
	if n := countMboxFile(t, file); n != 4 {
		t.Errorf("the new mbox file holds %d messages, want 4", n)
	}
	r = mailferry(t, pop, "copy", ep, "mbox:"+file)
	if expectCode(t, r, 0); !strings.Contains(r.stdout, "copied 0 messages") || countMboxFile(t, file) != 4 {
		t.Errorf("the run after:\n%s", r)
	}

	src := filepath.Join(t.TempDir(), "src")
	writeMaildir(t, src, []testMessage{message("INBOX", 1, 300), message("INBOX", 2, 300), message("Work", 3, 300), message("Work", 4, 300)})
	dir := filepath.Join(t.TempDir(), "archive")
	expectCode(t, mailferry(t, nil, "copy", "maildir:"+src, "mbox:"+dir), 0)
	work := filepath.Join(dir, "Work")
	data, err := os.ReadFile(work)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(work, data[:strings.LastIndex(string(data), "\nFrom ")+1], 0o600); err != nil {
		t.Fatal(err)
	}
	r = mailferry(t, nil, "copy", "maildir:"+src, "mbox:"+dir)
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "copied 1 message") || !strings.Contains(r.stderr, "1 message the state file records as copied is not in \"Work\"") {
		t.Errorf("into the pruned mbox folder:\n%s", r)
	}
	if n, m := countMboxFile(t, work), countMboxFile(t, filepath.Join(dir, "INBOX")); n != 2 || m != 2 {
		t.Errorf("Work holds %d messages, INBOX %d; want 2 and 2", n, m)
	}
}
