package maildirserve

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/sink/maildir"
	"github.com/mailferry/mailferry/transfer"
)

// stored is one message handed to the sink, and what Dovecot must give back.
type stored struct {
	folder string
	flags  []string
	date   time.Time
	crlf   bool   // the form body is handed to the sink in
	body   string // as handed to the sink
}

// messageID is the Message-ID every test message carries, to find it again.
func (m stored) messageID(i int) string { return fmt.Sprintf("<serve-%d@mailferry.test>", i) }

// wire is the message as an IMAP client must read it: CRLF line endings.
func (m stored) wire() []byte { return formats.ToCRLF([]byte(m.body)) }

func message(nl string, id int, subject string, lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Ada <ada@example.org>%sTo: Bruno <bruno@example.org>%s", nl, nl)
	fmt.Fprintf(&b, "Subject: %s%sMessage-ID: <serve-%d@mailferry.test>%s", subject, nl, id, nl)
	b.WriteString("Date: Mon, 04 Mar 2019 05:06:07 +0000" + nl + nl)
	for _, l := range lines {
		b.WriteString(l + nl)
	}
	return b.String()
}

// corpus covers the folder names, flags and bodies a backup holds.
func corpus() []stored {
	cet := time.FixedZone("CET", 3600)
	pst := time.FixedZone("PST", -8*3600)
	return []stored{
		{folder: "INBOX", date: time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC),
			flags: []string{`\Seen`, `\Answered`, `\Flagged`, `\Draft`, `\Deleted`, "$Forwarded", "Project_X", "$Label1"},
			body:  message("\n", 0, "every flag", "Hello,", ".a line with a leading dot", "", "From the start of a line", "trailing spaces   ")},
		{folder: "INBOX", date: time.Date(2021, 12, 31, 23, 59, 59, 750_000_000, cet), crlf: true,
			body: message("\r\n", 1, "network form, no flags", "CRLF in, LF on disk, CRLF out.")},
		{folder: "INBOX", date: time.Date(2005, 6, 7, 8, 9, 10, 0, pst),
			flags: []string{"NonJunk", "Project_X"},
			body:  message("\n", 2, "keywords only", "Shares the Project_X letter with message 0.")},
		{folder: "Archive", date: time.Date(2018, 1, 2, 3, 4, 5, 0, time.UTC), flags: []string{`\Seen`},
			body: message("\n", 3, "parent folder", "Archive holds mail and has a child.")},
		{folder: "Archive/2019", date: time.Date(2019, 7, 1, 12, 0, 0, 0, time.UTC), flags: []string{`\Seen`, "$MDNSent"},
			body: message("\n", 4, "nested", "No newline at the end") + "last line"},
		{folder: "Archive/2019", date: time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), flags: []string{`\Answered`, "$Forwarded"},
			body: message("\n", 5, "before 2000", "Old mail.")},
		{folder: "Entwürfe", date: time.Date(2024, 2, 29, 10, 11, 12, 0, cet), flags: []string{`\Draft`},
			body: message("\n", 6, "=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "Grüße aus Köln, 8-bit UTF-8 im Text.")},
		{folder: "a.b", date: time.Date(2020, 5, 5, 5, 5, 5, 0, time.UTC), flags: []string{`\Flagged`},
			body: message("\n", 7, "dot inside a level", "Stored as .a\\2eb")},
		{folder: "~home", date: time.Date(2020, 7, 7, 7, 7, 7, 0, time.UTC),
			body: message("\n", 8, "tilde starting the name", "Dovecot escapes it as \\7e")},
		{folder: `back\slash`, date: time.Date(2020, 8, 8, 8, 8, 8, 0, time.UTC),
			body: message("\n", 9, "backslash", "Stored as \\5c")},
		// A local archive with mixed line endings and a bare CR is stored as
		// it is; the W= size in its name must be what Dovecot computes, or
		// Dovecot cuts BODY[] short without an error.
		{folder: "INBOX", date: time.Date(2010, 10, 10, 10, 10, 10, 0, time.UTC), flags: []string{`\Seen`},
			body: message("\n", 10, "mixed line endings", "lf line", "crlf line\r", "bare\rcr inside", "\r", "end")},
		// Network form holding a bare LF and a bare CR: the sink turns CRLF
		// into LF and leaves both alone.
		{folder: "INBOX", date: time.Date(2011, 11, 11, 11, 11, 11, 0, time.UTC), crlf: true,
			body: message("\r\n", 11, "bare LF in network form", "one\ntwo", "bare\rcr")},
	}
}

func TestDovecotServesSinkMaildir(t *testing.T) {
	t.Parallel()
	serve(t, corpus())
}

// TestDovecotServesTildeLevel: Dovecot's listescape writes a '~' that starts
// any level (not only the first) as \7e, so "x/~y" is ".x.\7ey" on disk. A
// directory ".x.~y" is listed as "x/~y" but cannot be selected ("Mailbox
// doesn't exist"), so its mail would be invisible.
func TestDovecotServesTildeLevel(t *testing.T) {
	t.Parallel()
	serve(t, []stored{
		{folder: "x/~y", date: time.Date(2020, 6, 6, 6, 6, 6, 0, time.UTC), flags: []string{`\Seen`},
			body: message("\n", 0, "tilde starting a second level", "Dovecot stores the folder as .x.\\7ey")},
		{folder: "~a/~b/c~", date: time.Date(2020, 6, 6, 6, 6, 7, 0, time.UTC),
			body: message("\n", 1, "tildes", "Dovecot stores the folder as .\\7ea.\\7eb.c~")},
	})
}

// serve writes msgs with sink/maildir into a Dovecot user's Maildir and
// checks that Dovecot serves each exactly: folder, flags, date, bytes.
func serve(t *testing.T, msgs []stored) {
	user := dovecot.User{Name: "backup", Password: "pw"}
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{user}})

	sink, err := maildir.New(s.MailDir(user.Name), maildir.Options{Warn: func(w string) { t.Errorf("sink warning: %s", w) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, m := range msgs {
		tm := transfer.Message{Folder: m.folder, ID: fmt.Sprint(i), Flags: m.flags, Date: m.date, Size: int64(len(m.body)), CRLF: m.crlf}
		if err := sink.Put(ctx, tm, strings.NewReader(m.body)); err != nil {
			t.Fatalf("Put message %d into %q: %v", i, m.folder, err)
		}
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.ChownMail(user.Name); err != nil {
		t.Fatal(err)
	}

	c := s.Login(t, user)

	listed := map[string]bool{}
	for _, name := range dovecot.Selectable(t, c) {
		listed[name] = true
	}
	byFolder := map[string][]int{}
	for i, m := range msgs {
		byFolder[m.folder] = append(byFolder[m.folder], i)
	}
	for folder := range byFolder {
		if !listed[folder] {
			t.Errorf("LIST does not show %q as a selectable folder; it shows %v", folder, listed)
		}
	}

	for folder, idx := range byFolder {
		got := fetchFolder(t, c, folder)
		if got == nil {
			continue
		}
		if len(got) != len(idx) {
			t.Errorf("%q: Dovecot serves %d messages, want %d", folder, len(got), len(idx))
		}
		for _, i := range idx {
			m := msgs[i]
			f, ok := got[m.messageID(i)]
			if !ok {
				t.Errorf("%q: message %d (%s) not served", folder, i, m.messageID(i))
				continue
			}
			if want := m.wire(); !bytes.Equal(f.body, want) {
				t.Errorf("%q message %d: BODY[] = %q, want %q", folder, i, f.body, want)
			}
			if f.size != int64(len(m.wire())) {
				t.Errorf("%q message %d: RFC822.SIZE = %d, want %d", folder, i, f.size, len(m.wire()))
			}
			if f.date.Unix() != m.date.Unix() {
				t.Errorf("%q message %d: INTERNALDATE = %v, want %v (to the second)", folder, i, f.date, m.date)
			}
			// $Forwarded is stored as the Maildir letter P only, which
			// Dovecot 2.3 does not report (it keeps forwarded as a keyword
			// of its own); every other flag and keyword it serves.
			want := slices.DeleteFunc(formats.NormalizeFlags(m.flags), func(f string) bool { return f == formats.FlagForwarded })
			if !slices.Equal(f.flags, want) {
				t.Errorf("%q message %d: FLAGS = %v, want %v", folder, i, f.flags, want)
			}
		}
	}

	// Dovecot found nothing to complain about (sizes in names, keyword
	// files, uidlists).
	for _, line := range strings.Split(s.Log(), "\n") {
		if strings.Contains(line, "Error:") || strings.Contains(line, "Warning:") || strings.Contains(line, "Panic:") {
			t.Errorf("dovecot logged: %s", line)
		}
	}
}

type fetched struct {
	flags []string
	date  time.Time
	size  int64
	body  []byte
}

// fetchFolder returns the messages of folder by Message-ID, or nil after
// reporting an error when the folder cannot be selected.
func fetchFolder(t *testing.T, c *imapclient.Client, folder string) map[string]fetched {
	t.Helper()
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Errorf("EXAMINE %q: %v", folder, err)
		return nil
	}
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		t.Errorf("FETCH %q: %v", folder, err)
		return nil
	}
	out := map[string]fetched{}
	for _, m := range msgs {
		f := fetched{date: m.InternalDate, size: m.RFC822Size, body: m.FindBodySection(section)}
		for _, fl := range m.Flags {
			if fl != `\Recent` {
				f.flags = append(f.flags, string(fl))
			}
		}
		f.flags = formats.NormalizeFlags(f.flags)
		out["<"+formats.MessageID(f.body)+">"] = f
	}
	return out
}
