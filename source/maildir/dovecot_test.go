package maildir_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/source/maildir"
)

// TestReadsDovecotMaildir has Dovecot store mail (APPEND with flags,
// keywords and dates into nested, dotted and non-ASCII folders, then a
// flag change and an expunge) and checks that the source reads Dovecot's
// Maildir back exactly: folders, bytes (Dovecot stores LF), flags, dates.
func TestReadsDovecotMaildir(t *testing.T) {
	t.Parallel()
	user := dovecot.User{Name: "reader", Password: "pw"}
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{user}})
	c := s.Login(t, user)

	type msg struct {
		folder string
		flags  []imap.Flag
		date   time.Time
		body   string // CRLF, as appended
	}
	msgs := []msg{
		{"INBOX", []imap.Flag{imap.FlagSeen, "$Forwarded", "Project_X"}, time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC),
			"Subject: one\r\nMessage-ID: <1@x>\r\n\r\nHello\r\n"},
		{"INBOX", nil, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), "Subject: two\r\n\r\nno final newline"},
		{"Archive/a.b", []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, "NonJunk"}, time.Date(2001, 9, 9, 1, 46, 40, 0, time.UTC),
			"Subject: three\r\n\r\nbody\r\n"},
		{"Entwürfe/~x", []imap.Flag{imap.FlagDraft}, time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), "Subject: four\r\n\r\n\r\n"},
		{"INBOX", []imap.Flag{imap.FlagSeen}, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), "Subject: expunged\r\n\r\ngone\r\n"},
	}
	for _, name := range []string{"Archive/a.b", "Entwürfe/~x"} {
		if err := c.Create(name, nil).Wait(); err != nil {
			t.Fatalf("CREATE %q: %v", name, err)
		}
	}
	for _, m := range msgs {
		cmd := c.Append(m.folder, int64(len(m.body)), &imap.AppendOptions{Flags: m.flags, Time: m.date})
		io.WriteString(cmd, m.body)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("APPEND to %q: %v", m.folder, err)
		}
	}
	// Change a flag (Dovecot renames the file) and expunge the last message.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "Later"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	msgs[1].flags = []imap.Flag{imap.FlagFlagged, "Later"}
	msgs = msgs[:4]
	c.Logout().Wait()

	src, err := maildir.Open(s.MailDir(user.Name), maildir.Options{Warn: func(w string) { t.Errorf("source warning: %s", w) }})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, src)
	want := map[string][]stored{}
	for _, m := range msgs {
		var flags []string
		for _, f := range m.flags {
			flags = append(flags, string(f))
		}
		want[m.folder] = append(want[m.folder], stored{m.folder, formats.NormalizeFlags(flags), m.date, string(formats.ToLF([]byte(m.body)))})
	}
	for folder, list := range want {
		g := got[folder]
		if len(g) != len(list) {
			t.Errorf("folder %q: read %d messages, want %d", folder, len(g), len(list))
			continue
		}
		for _, w := range list {
			found := false
			for _, m := range g {
				if m.body == w.body {
					found = true
					if !equal(m.flags, w.flags) || !m.date.Equal(w.date) {
						t.Errorf("folder %q, %q: flags %q date %v; want %q %v", folder, strings.SplitN(w.body, "\n", 2)[0], m.flags, m.date, w.flags, w.date)
					}
				}
			}
			if !found {
				t.Errorf("folder %q: message %q not read; read %v", folder, w.body, g)
			}
		}
	}
	// Dovecot's own files (dovecot-uidlist, indexes, dovecot-keywords,
	// subscriptions) are neither messages nor folders.
	if len(got) != len(want) {
		t.Errorf("read folders %v, want %d folders", keys(got), len(want))
	}
}
