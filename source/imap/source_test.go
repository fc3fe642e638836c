package imap

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/imapserver/servertest"
	"github.com/mailferry/mailferry/transfer"
)

func testMessage(i int) []byte {
	return []byte(fmt.Sprintf("From: a@example.org\r\nTo: b@example.org\r\nMessage-ID: <m%d@example.org>\r\nSubject: test %d\r\n\r\nbody %d\r\n%s", i, i, i, strings.Repeat("x", i*100)))
}

func startServer(t *testing.T, opts imapserver.Options) *imapserver.Server {
	if opts.Users == nil {
		opts.Users = []imapserver.User{{Name: "alice", Password: "secret"}}
	}
	return servertest.Start(t, opts)
}

func clientOpts(addr string) imapconn.Options {
	return imapconn.Options{
		Addr:        addr,
		Security:    account.SecurityNone,
		Credentials: account.Credentials{User: "alice", Password: account.StaticPassword("secret")},
		Timeout:     5 * time.Second,
	}
}

type fetched struct {
	m    transfer.Message
	body []byte
}

func fetchAll(t *testing.T, src *Source, folder string) ([]transfer.Message, map[string]fetched, error) {
	t.Helper()
	ctx := context.Background()
	msgs, err := src.List(ctx, folder)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]fetched)
	err = src.Fetch(ctx, folder, msgs, func(m transfer.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if _, dup := got[m.ID]; dup {
			t.Errorf("message %s delivered twice", m.ID)
		}
		got[m.ID] = fetched{m, b}
		return nil
	})
	return msgs, got, err
}

func TestSourceReadsEverythingUnchanged(t *testing.T) {
	for _, uidAfter := range []bool{false, true} {
		t.Run(fmt.Sprintf("uidAfterLiteral=%v", uidAfter), func(t *testing.T) {
			srv := startServer(t, imapserver.Options{UIDAfterLiteral: uidAfter, SpecialUse: map[string]string{"Sent Items": `\Sent`}})
			date := time.Date(2019, 3, 4, 5, 6, 7, 0, time.FixedZone("", 3600))
			const n = 20
			for i := 1; i <= n; i++ {
				if err := srv.AddMessage("alice", "Archive/2019", []string{`\Answered`, "$Label1"}, date.Add(time.Duration(i)*time.Hour), testMessage(i)); err != nil {
					t.Fatal(err)
				}
			}
			var warnings []string
			opts := clientOpts(srv.Addr())
			opts.Warn = func(s string) { warnings = append(warnings, s) }
			src, err := New(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			folders, err := src.Folders(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			roles := map[string]string{}
			for _, f := range folders {
				names = append(names, f.Name)
				roles[f.Name] = f.Role
			}
			if strings.Join(names, ",") != "Archive,Archive/2019,INBOX,Sent Items" {
				t.Errorf("folders = %v", names)
			}
			if roles["Sent Items"] != `\Sent` {
				t.Errorf("Sent Items role = %q", roles["Sent Items"])
			}
			msgs, got, err := fetchAll(t, src, "Archive/2019")
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != n || len(got) != n {
				t.Fatalf("listed %d, fetched %d, want %d", len(msgs), len(got), n)
			}
			for i, m := range msgs {
				f := got[m.ID]
				if !bytes.Equal(f.body, testMessage(i+1)) {
					t.Errorf("message %s: body differs", m.ID)
				}
				if f.m.Size != int64(len(f.body)) || !f.m.CRLF {
					t.Errorf("message %s: size %d CRLF %v", m.ID, f.m.Size, f.m.CRLF)
				}
				if !m.Date.Equal(date.Add(time.Duration(i+1) * time.Hour)) {
					t.Errorf("message %s: date %v", m.ID, m.Date)
				}
				if strings.Join(m.Flags, " ") != `$Label1 \Answered` {
					t.Errorf("message %s: flags %v", m.ID, m.Flags)
				}
			}
			// The source is unchanged: no \Seen was set.
			msgs2, err := src.List(context.Background(), "Archive/2019")
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs2 {
				for _, f := range m.Flags {
					if f == `\Seen` {
						t.Errorf("message %s got \\Seen", m.ID)
					}
				}
			}
			if uidAfter && len(warnings) == 0 {
				t.Errorf("no warning about UID after literal")
			}
		})
	}
}

// TestListSharesFlagSets: the listing gives each message its flags,
// normalised, and messages with the same flags one slice between them (a
// large folder's listing would otherwise hold a slice per message).
func TestListSharesFlagSets(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	sets := [][]string{{`\Seen`}, {`\Seen`, `$Label1`}, nil, {`\Seen`}, {`\Seen`, `$Label1`}, {`\Flagged`}}
	for i, flags := range sets {
		if err := srv.AddMessage("alice", "INBOX", flags, time.Date(2020, 1, 1+i, 0, 0, 0, 0, time.UTC), testMessage(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	src, err := New(context.Background(), clientOpts(srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	msgs, err := src.List(context.Background(), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`\Seen`, `$Label1 \Seen`, ``, `\Seen`, `$Label1 \Seen`, `\Flagged`}
	if len(msgs) != len(want) {
		t.Fatalf("listed %d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if got := strings.Join(m.Flags, " "); got != want[i] {
			t.Errorf("message %d (%s): flags %q, want %q", i, m.ID, got, want[i])
		}
		if !m.Date.Equal(time.Date(2020, 1, 1+i, 0, 0, 0, 0, time.UTC)) || m.Size != int64(len(testMessage(i+1))) || m.VirtualSize != m.Size {
			t.Errorf("message %d: date %v, size %d, virtual size %d", i, m.Date, m.Size, m.VirtualSize)
		}
	}
	for _, pair := range [][2]int{{0, 3}, {1, 4}} {
		a, b := msgs[pair[0]].Flags, msgs[pair[1]].Flags
		if &a[0] != &b[0] {
			t.Errorf("messages %d and %d have the same flags in two slices", pair[0], pair[1])
		}
	}
}
