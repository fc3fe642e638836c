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
// withoutLabels makes it refuse X-GM-LABELS.
func startGmail(t *testing.T, withoutLabels bool) *imapserver.Server {
	t.Helper()
	srv, err := imapserver.Start(imapserver.Options{Users: []imapserver.User{{Name: "alice", Password: "gpw"}}, Gmail: true, GmailWithoutLabels: withoutLabels})
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
// re-run copies nothing. So too when the server refuses X-GM-LABELS and the
// archived messages are found by comparing All Mail with the folders.
func TestGmailMigratesLabelsAndArchiveOnce(t *testing.T) {
	for _, tc := range []struct{ dedupe, withoutLabels bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		dedupe := tc.dedupe
		t.Run(fmt.Sprintf("dedupe=%v,withoutLabels=%v", dedupe, tc.withoutLabels), func(t *testing.T) {
			src := startGmail(t, tc.withoutLabels)
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
			if warned := strings.Contains(r.stderr, "refused the X-GM-LABELS fetch"); warned != tc.withoutLabels {
				t.Errorf("warning about refused X-GM-LABELS: %v, want %v:\n%s", warned, tc.withoutLabels, r)
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

// Two byte-identical messages with the same INTERNALDATE, one archived and
// flagged, then one in INBOX and seen: comparing All Mail with INBOX counts
// two and one, so one goes to Archive, but which cannot be told, and the
// first in All Mail (the archived one) is taken for INBOX's. X-GM-LABELS
// tell: INBOX gets the seen one, Archive the flagged one, and verify
// agrees.
func TestGmailLabelsKeepArchivedTwinOfLabelledMessage(t *testing.T) {
	src, err := imapserver.Start(imapserver.Options{Users: []imapserver.User{{Name: "alice", Password: "gpw"}}, Gmail: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	body := []byte("From: a@example.com\r\nSubject: twin\r\nMessage-ID: <twin@gmail.test>\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\n\r\nsame body\r\n")
	date := time.Unix(1700000000, 0)
	if err := src.AddGmailMessage("alice", nil, []string{`\Flagged`}, date, body); err != nil {
		t.Fatal(err)
	}
	if err := src.AddGmailMessage("alice", []string{"INBOX"}, []string{`\Seen`}, date, body); err != nil {
		t.Fatal(err)
	}
	dst, err := imapserver.Start(imapserver.Options{Users: []imapserver.User{{Name: "bob", Password: "bpw"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	env := []string{"MAILFERRY_SOURCE_PASSWORD=gpw", "MAILFERRY_DEST_PASSWORD=bpw"}
	ends := []string{"imap://alice@" + src.Addr() + "?tls=none", "imap://bob@" + dst.Addr() + "?tls=none"}
	r := mailferry(t, env, append([]string{"copy"}, ends...)...)
	expectCode(t, r, 0)
	d, err := imapserver.Dump(dst.Addr(), nil, "bob", "bpw")
	if err != nil {
		t.Fatal(err)
	}
	for folder, flag := range map[string]string{"INBOX": `\Seen`, "Archive": `\Flagged`} {
		got := d[folder]
		if len(got) != 1 || string(got[0].Body) != string(body) || !got[0].Date.Equal(date) || !reflect.DeepEqual(got[0].Flags, []string{flag}) {
			t.Errorf("%s holds %v, want the one message as sent, dated %v, flagged %s\n%s", folder, got, date, flag, r)
		}
	}
	if !strings.Contains(r.stdout, "copied 2 messages") {
		t.Errorf("the summary does not say 2 copied:\n%s", r)
	}
	expectCode(t, mailferry(t, env, append([]string{"verify"}, ends...)...), 0)
}
