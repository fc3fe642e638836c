package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapserver"
)

// migrationMessage is the body of a test message with its subject.
func migrationMessage(subject string) []byte {
	return []byte(fmt.Sprintf("From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: %s\r\n"+
		"Message-ID: <%s@migration.test>\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\n\r\nThe text of %s.\r\n",
		subject, strings.ReplaceAll(subject, " ", "."), subject))
}

// imapSession logs in to Dovecot as user, for a test to change the mail.
func imapSession(t *testing.T, s *dovecot.Server, user, password string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func appendTo(t *testing.T, c *imapclient.Client, folder, subject string, date time.Time, flags ...imap.Flag) {
	t.Helper()
	body := migrationMessage(subject)
	cmd := c.Append(folder, int64(len(body)), &imap.AppendOptions{Flags: flags, Time: date})
	if _, err := cmd.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// uidOf finds the UID of the message with subject in the selected folder.
func uidOf(t *testing.T, c *imapclient.Client, subject string) imap.UID {
	t.Helper()
	uids, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: subject}}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	all := uids.AllUIDs()
	if len(all) != 1 {
		t.Fatalf("%d messages with subject %q, want 1", len(all), subject)
	}
	return all[0]
}

// mailboxState is an account as a person sees it: per folder, each
// message's subject, flags and date, sorted.
func mailboxState(t *testing.T, s *dovecot.Server, user, password string) map[string][]string {
	t.Helper()
	d, err := imapserver.Dump(s.IMAPSAddr, s.TLSConfig(), user, password)
	if err != nil {
		t.Fatal(err)
	}
	subject := regexp.MustCompile(`(?m)^Subject: (.*)\r$`)
	out := map[string][]string{}
	for folder, msgs := range d {
		list := []string{}
		for _, m := range msgs {
			list = append(list, fmt.Sprintf("%s %v %s", subject.FindSubmatch(m.Body)[1], m.Flags, m.Date.UTC().Format(time.RFC3339)))
		}
		sort.Strings(list)
		out[folder] = list
	}
	return out
}

// subscriptions lists the folders user has subscribed, sorted.
func subscriptions(t *testing.T, s *dovecot.Server, user, password string) []string {
	t.Helper()
	c := imapSession(t, s, user, password)
	list, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, l := range list {
		out = append(out, l.Mailbox)
	}
	sort.Strings(out)
	return out
}

// The migration a provider change is: a pre-copy to two destinations, then
// at the source flags and keywords change, mail arrives, mail is deleted, a
// message moves between folders, an empty folder is made and subscribed, a
// folder unsubscribed; a second run
// with --delete-extraneous makes the destination what the source is
// (verify passes: flags, dates, content, folders); one without it only adds:
// the new messages, the moved message's new copy, the flag changes and the
// folder, and keeps what the source deleted (verify counts it as extra).
func TestDovecotMigrationKeepsTheDestinationInStep(t *testing.T) {
	users := []dovecot.User{{Name: "alice", Password: "apw"}, {Name: "bob", Password: "bpw"}, {Name: "carol", Password: "cpw"}}
	s := dovecot.Start(t, dovecot.Options{Users: users})
	src := imapSession(t, s, "alice", "apw")
	day := func(i int) time.Time { return time.Date(2024, 3, 1+i, 9, 30, 0, 0, time.UTC) }
	if err := src.Create("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := src.Subscribe("Work").Wait(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		appendTo(t, src, "INBOX", fmt.Sprintf("inbox %d", i), day(i), imap.FlagSeen)
	}
	for i := 0; i < 3; i++ {
		appendTo(t, src, "Work", fmt.Sprintf("work %d", i), day(10+i), imap.FlagSeen, imap.FlagAnswered)
	}

	dest := func(u dovecot.User) string { return "imap://" + u.Name + "@" + s.IMAPAddr }
	source := "imap://alice@" + s.IMAPAddr
	env := func(u dovecot.User) []string {
		return []string{"MAILFERRY_SOURCE_PASSWORD=apw", "MAILFERRY_DEST_PASSWORD=" + u.Password}
	}
	states := map[string]string{}
	copyTo := func(u dovecot.User, extra ...string) result {
		t.Helper()
		if states[u.Name] == "" {
			states[u.Name] = filepath.Join(t.TempDir(), "state")
		}
		args := append([]string{"copy", source, dest(u), "--ca-file", s.CAFile, "--state", states[u.Name]}, extra...)
		return mailferry(t, env(u), args...)
	}
	verifyAgainst := func(u dovecot.User) result {
		t.Helper()
		return mailferry(t, env(u), "verify", source, dest(u), "--ca-file", s.CAFile)
	}
	bob, carol := users[1], users[2]
	for _, u := range []dovecot.User{bob, carol} {
		r := copyTo(u)
		expectCode(t, r, 0)
		if !strings.Contains(r.stdout, "copied 8 messages") {
			t.Fatalf("pre-copy to %s:\n%s", u.Name, r)
		}
		expectCode(t, verifyAgainst(u), 0)
		if got, want := subscriptions(t, s, u.Name, u.Password), subscriptions(t, s, "alice", "apw"); !reflect.DeepEqual(got, want) {
			t.Errorf("after the pre-copy %s has subscribed %q, the source %q", u.Name, got, want)
		}
	}

	// At the source: flags and keywords change, two messages arrive, one
	// is deleted, one moves to Work, an empty folder appears.
	if _, err := src.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	store := func(subject string, op imap.StoreFlagsOp, flags ...imap.Flag) {
		t.Helper()
		uid := uidOf(t, src, subject)
		if err := src.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: op, Silent: true, Flags: flags}, nil).Close(); err != nil {
			t.Fatal(err)
		}
	}
	store("inbox 0", imap.StoreFlagsAdd, imap.FlagFlagged)
	store("inbox 1", imap.StoreFlagsAdd, "$Label1", "Project-X")
	store("inbox 2", imap.StoreFlagsDel, imap.FlagSeen)
	appendTo(t, src, "INBOX", "new 0", day(20))
	appendTo(t, src, "Work", "new 1", day(21), imap.FlagSeen)
	gone := uidOf(t, src, "inbox 3")
	if err := src.Store(imap.UIDSetNum(gone), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.UIDExpunge(imap.UIDSetNum(gone)).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Move(imap.UIDSetNum(uidOf(t, src, "inbox 4")), "Work").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := src.Create("Empty", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := src.Subscribe("Empty").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := src.Unsubscribe("Work").Wait(); err != nil {
		t.Fatal(err)
	}
	want := mailboxState(t, s, "alice", "apw")
	wantSubscribed := subscriptions(t, s, "alice", "apw")
	if !reflect.DeepEqual(wantSubscribed, []string{"Empty"}) {
		t.Fatalf("the source has subscribed %q", wantSubscribed)
	}

	// With --delete-extraneous: the destination is the source.
	// The moved message is moved there too (Dovecot has MOVE), not copied
	// again: only the two new messages are copied.
	r := copyTo(carol, "--delete-extraneous")
	expectCode(t, r, 0)
	if !regexp.MustCompile(`(?m)^copied 2 messages \(\d+ B\), skipped 7, flags updated on 3, 1 deleted at the destination \(gone from the source\), 1 moved at the destination \(moved at the source\), 1 empty folder created, 1 folder subscribed or unsubscribed as at the source, failed 0`).MatchString(r.stdout) {
		t.Errorf("the summary with --delete-extraneous does not count 2 copied, 1 deleted, 1 moved:\n%s", r)
	}
	if got := mailboxState(t, s, "carol", "cpw"); !reflect.DeepEqual(got, want) {
		t.Errorf("with --delete-extraneous carol holds\n%v\nthe source\n%v\n%s", got, want, r)
	}
	expectCode(t, verifyAgainst(carol), 0)
	if got := subscriptions(t, s, "carol", "cpw"); !reflect.DeepEqual(got, wantSubscribed) {
		t.Errorf("carol has subscribed %q, the source %q", got, wantSubscribed)
	}

	// Without: only additions, the moved message's new copy, the flag
	// changes and the new folder.
	r = copyTo(bob)
	expectCode(t, r, 0)
	kept := map[string][]string{}
	for f, msgs := range want {
		kept[f] = append([]string{}, msgs...)
	}
	// What the source deleted, and the moved message at its old place,
	// stay, with the flags they had when copied.
	kept["INBOX"] = append(kept["INBOX"], "inbox 3 [\\Seen] "+day(3).Format(time.RFC3339), "inbox 4 [\\Seen] "+day(4).Format(time.RFC3339))
	sort.Strings(kept["INBOX"])
	if got := mailboxState(t, s, "bob", "bpw"); !reflect.DeepEqual(got, kept) {
		t.Errorf("without --delete-extraneous bob holds\n%v\nwant\n%v\n%s", got, kept, r)
	}
	if got := subscriptions(t, s, "bob", "bpw"); !reflect.DeepEqual(got, wantSubscribed) {
		t.Errorf("bob has subscribed %q, the source %q", got, wantSubscribed)
	}
	// verify finds every source message there and counts the two more.
	v := verifyAgainst(bob)
	expectCode(t, v, 0)
	if !strings.Contains(v.stdout, "verified 9 messages: all at the destination with their content, flags and dates; the destination holds 2 messages more than the source") {
		t.Errorf("verify without --delete-extraneous does not count the 2 messages kept:\n%s", v)
	}
}

// Subscriptions cross between IMAP and a Maildir through Dovecot's
// subscriptions file: Dovecot (IMAP) into a Maildir writes the file, and
// Dovecot's own Maildir read as a source gives its subscriptions to an IMAP
// destination.
func TestSubscriptionsBetweenIMAPAndMaildir(t *testing.T) {
	alice := dovecot.User{Name: "alice", Password: "apw"}
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{alice}})
	c := imapSession(t, s, alice.Name, alice.Password)
	for _, f := range []string{"Work", "Work/2024", "Other"} {
		if err := c.Create(f, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		appendTo(t, c, f, "in "+f, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC))
	}
	for _, f := range []string{"Work/2024", "Other"} {
		if err := c.Subscribe(f).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Unsubscribe("Other").Wait(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()

	dir := filepath.Join(t.TempDir(), "backup")
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=apw"}, "copy", "imap://alice@"+s.IMAPAddr, "maildir:"+dir, "--ca-file", s.CAFile)
	expectCode(t, r, 0)
	b, err := os.ReadFile(filepath.Join(dir, "subscriptions"))
	if err != nil || string(b) != "V\t2\n\nWork\t2024\n" {
		t.Errorf("the Maildir's subscriptions file holds %q (%v), want Work/2024 alone:\n%s", b, err, r)
	}

	dst, err := imapserver.Start(imapserver.Options{Users: []imapserver.User{{Name: "bob", Password: "bpw"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	r = mailferry(t, []string{"MAILFERRY_DEST_PASSWORD=bpw"}, "copy", "maildir:"+s.MailDir(alice.Name), "imap://bob@"+dst.Addr()+"?tls=none")
	expectCode(t, r, 0)
	bc, err := imapclient.DialInsecure(dst.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	if err := bc.Login("bob", "bpw").Wait(); err != nil {
		t.Fatal(err)
	}
	list, err := bc.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range list {
		got = append(got, l.Mailbox)
	}
	sort.Strings(got)
	// INBOX is never unsubscribed; the folders mailferry created are
	// subscribed unless the source says otherwise.
	if want := []string{"INBOX", "Work/2024"}; !reflect.DeepEqual(got, want) {
		t.Errorf("bob has subscribed %q, want %q:\n%s", got, want, r)
	}
}
