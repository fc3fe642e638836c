package main

import (
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/imapserver"
)

// startGmail serves a Gmail-like account: a message in three labels (INBOX,
// Work, Travel), one only in All Mail (archived), one starred in INBOX, one
// Important in INBOX, one in Sent Mail and one in Trash (which All Mail does
// not show).
func startGmail(t *testing.T) *imapserver.Server {
	t.Helper()
	srv, err := imapserver.Start(imapserver.Options{Users: []imapserver.User{{Name: "alice", Password: "gpw"}}, Gmail: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	add := func(i int, subject string, labels []string, flags ...string) {
		t.Helper()
		body := fmt.Sprintf("From: a@example.com\r\nSubject: %s\r\nMessage-ID: <%d@gmail.test>\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\n\r\nbody %d\r\n", subject, i, i)
		if err := srv.AddGmailMessage("alice", labels, flags, time.Unix(1700000000+int64(i), 0), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	add(1, "three labels", []string{"INBOX", "Work", "Travel"}, `\Seen`)
	add(2, "archived", nil, `\Seen`)
	add(3, "starred", []string{"INBOX", imapserver.GmailStarred}, `\Flagged`)
	add(4, "important", []string{"INBOX", imapserver.GmailImportant})
	add(5, "sent", []string{imapserver.GmailSent}, `\Seen`)
	trash := "From: a@example.com\r\nSubject: deleted\r\nMessage-ID: <6@gmail.test>\r\n\r\nbody 6\r\n"
	if err := srv.AddMessage("alice", imapserver.GmailTrash, nil, time.Unix(1700000006, 0), []byte(trash)); err != nil {
		t.Fatal(err)
	}
	return srv
}

// subjects lists the Subject of every message of each folder of an
// in-process server's account, sorted.
func subjects(t *testing.T, srv *imapserver.Server, user, password string) map[string][]string {
	t.Helper()
	d, err := imapserver.Dump(srv.Addr(), nil, user, password)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^Subject: (.*)\r$`)
	out := map[string][]string{}
	for folder, msgs := range d {
		list := []string{}
		for _, m := range msgs {
			list = append(list, re.FindStringSubmatch(string(m.Body))[1])
		}
		sort.Strings(list)
		out[folder] = list
	}
	return out
}

// A Gmail account migrates without All Mail, Important and Starred, each
// label a folder, the system folders by their roles' names (no "[Gmail]"),
// the archived message in Archive: with
// --dedupe-across-folders every message once, without it once per label;
// never a message lost, never one twice in a folder. verify agrees, and a
// re-run copies nothing.
func TestGmailMigratesLabelsAndArchiveOnce(t *testing.T) {
	for _, dedupe := range []bool{false, true} {
		t.Run(fmt.Sprintf("dedupe=%v", dedupe), func(t *testing.T) {
			src := startGmail(t)
			dst, err := imapserver.Start(imapserver.Options{Users: []imapserver.User{{Name: "bob", Password: "bpw"}},
				SpecialUse: map[string]string{"Sent": `\Sent`, "Trash": `\Trash`}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { dst.Close() })
			env := []string{"MAILFERRY_SOURCE_PASSWORD=gpw", "MAILFERRY_DEST_PASSWORD=bpw"}
			ends := []string{"imap://alice@" + src.Addr() + "?tls=none", "imap://bob@" + dst.Addr() + "?tls=none"}
			var extra []string
			if dedupe {
				extra = []string{"--dedupe-across-folders"}
			}
			state := filepath.Join(t.TempDir(), "state")
			r := mailferry(t, env, append(append([]string{"copy"}, ends...), append(extra, "--state", state)...)...)
			expectCode(t, r, 0)

			want := map[string][]string{
				"INBOX":   {"important", "starred", "three labels"},
				"Work":    {"three labels"},
				"Travel":  {"three labels"},
				"Sent":    {"sent"},
				"Trash":   {"deleted"},
				"Archive": {"archived"},
				"Drafts":  {},
				"Junk":    {},
			}
			copied := 8
			if dedupe {
				want["Work"], want["Travel"] = []string{}, []string{}
				copied = 6
			}
			if got := subjects(t, dst, "bob", "bpw"); !reflect.DeepEqual(got, want) {
				t.Errorf("the destination holds\n%v\nwant\n%v\n%s", got, want, r)
			}
			if !strings.Contains(r.stdout, fmt.Sprintf("copied %d messages", copied)) {
				t.Errorf("the summary does not say %d copied:\n%s", copied, r)
			}
			v := mailferry(t, env, append(append([]string{"verify"}, ends...), extra...)...)
			expectCode(t, v, 0)
			again := mailferry(t, env, append(append([]string{"copy"}, ends...), extra...)...)
			expectCode(t, again, 0)
			if !strings.Contains(again.stdout, "copied 0 messages") {
				t.Errorf("a re-run without state copied again:\n%s", again)
			}
		})
	}
}
