package imapconn

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/imapserver"
)

// Gmail's answers name system labels as quoted strings with an escaped
// backslash or as atoms, user labels as atoms or quoted strings; the UID
// may come before or after, other items are skipped.
func TestParseGmailLabelsFetch(t *testing.T) {
	for _, tc := range []struct {
		line   string
		uid    imap.UID
		labels []string
		ok     bool
	}{
		{`1 FETCH (X-GM-LABELS ("\\Inbox" "\\Important" Work) UID 7)`, 7, []string{`\Inbox`, `\Important`, "Work"}, true},
		{`2 FETCH (UID 8 X-GM-LABELS (\Sent "Projects/2024 plan" "say \"hi\""))`, 8, []string{`\Sent`, "Projects/2024 plan", `say "hi"`}, true},
		{`3 FETCH (UID 9 FLAGS (\Seen $Label1) X-GM-LABELS ())`, 9, []string{}, true},
		{`4 FETCH (UID 10 X-GM-LABELS NIL)`, 10, nil, true},
		{`5 FETCH (UID 11)`, 11, nil, false},
		{`12 EXISTS`, 0, nil, false},
	} {
		uid, labels, ok, err := ParseGmailLabelsFetch([]byte(tc.line))
		if err != nil || uid != tc.uid || ok != tc.ok || !reflect.DeepEqual(labels, tc.labels) {
			t.Errorf("%s: got UID %d labels %q ok %v err %v, want UID %d labels %q ok %v", tc.line, uid, labels, ok, err, tc.uid, tc.labels, tc.ok)
		}
	}
	for _, bad := range []string{
		`1 FETCH (UID 7 X-GM-LABELS ("\\Inbox"`,
		`1 FETCH (UID 7 X-GM-LABELS "Work")`,
		`1 FETCH (UID x X-GM-LABELS ())`,
		`x FETCH (UID 7)`,
		`1 FETCH UID 7`,
		`1 FETCH (UID 7 X-GM-LABELS ("unterminated))`,
	} {
		if _, _, _, err := ParseGmailLabelsFetch([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// A label sent as a literal is read as the same label.
func TestQuotedLabelReadsBack(t *testing.T) {
	for _, l := range []string{`\Inbox`, `a "b" \c`, "plain", ""} {
		got, err := ParseGmailLabels([]byte("(" + quote(l) + ")"))
		if err != nil || len(got) != 1 || got[0] != l {
			t.Errorf("%q read back as %q, %v", l, got, err)
		}
	}
}

// FuzzParseGmailLabels checks that the labels parser never panics or
// loops, and that what it reads, quoted again, reads back the same.
func FuzzParseGmailLabels(f *testing.F) {
	for _, seed := range []string{`("\\Inbox" Work)`, `NIL`, `()`, `("a b" "c\"d" \Sent)`, `(`, `("`, `(a (b))`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// The FETCH parser reads any line without panicking or looping.
		ParseGmailLabelsFetch(append([]byte("1 FETCH (UID 1 X-GM-LABELS "), append(b, ')')...))
		labels, err := ParseGmailLabels(b)
		if err != nil {
			return
		}
		var quoted []string
		for _, l := range labels {
			quoted = append(quoted, quote(l))
		}
		again, err := ParseGmailLabels([]byte("(" + strings.Join(quoted, " ") + ")"))
		if err != nil || len(again) != len(labels) {
			t.Fatalf("%q: labels %q quoted again read as %q, %v", b, labels, again, err)
		}
		for i := range labels {
			if again[i] != labels[i] {
				t.Fatalf("%q: label %q read back as %q", b, labels[i], again[i])
			}
		}
	})
}

// FetchGmailLabels reads All Mail's labels from a Gmail-like server, a
// label sent as a literal among them, and the connection serves go-imap
// afterwards; a server that answers BAD gives ErrGmailLabelsRefused and
// the connection stays usable too.
func TestFetchGmailLabels(t *testing.T) {
	for _, without := range []bool{false, true} {
		srv := startServer(t, imapserver.Options{Gmail: true, GmailWithoutLabels: without})
		date := time.Unix(1700000000, 0)
		for _, labels := range [][]string{{"INBOX", "Work"}, nil, {"Reisen\x01", imapserver.GmailSent}} {
			if err := srv.AddGmailMessage("alice", labels, nil, date, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
				t.Fatal(err)
			}
		}
		ctx := context.Background()
		c, err := Dial(ctx, ptr(options(srv.Addr(), account.SecurityNone, "secret")), nil)
		if err != nil {
			t.Fatal(err)
		}
		validity, labels, err := c.FetchGmailLabels(ctx, imapserver.GmailAllMail)
		if without {
			if !errors.Is(err, ErrGmailLabelsRefused) || labels != nil {
				t.Errorf("refused fetch: labels %v, error %v, want ErrGmailLabelsRefused", labels, err)
			}
		} else {
			want := map[imap.UID][]string{1: {`\Inbox`, "Work"}, 2: {}, 3: {"Reisen\x01", `\Sent`}}
			if err != nil || validity == 0 || !reflect.DeepEqual(labels, want) {
				t.Errorf("labels %v, UIDVALIDITY %d, error %v; want %v", labels, validity, err, want)
			}
		}
		sel, err := c.Select(ctx, "INBOX", true)
		if err != nil || sel.NumMessages != 1 {
			t.Errorf("SELECT INBOX after the labels: %v, %v", sel, err)
		}
		c.Close()
	}
}
