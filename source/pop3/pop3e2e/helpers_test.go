package pop3e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/corpus"
	"github.com/mailferry/mailferry/internal/pop3server"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/transfer"
)

// mail is a message as it sits on the POP3 server, in any line-ending form.
type mail struct {
	name string
	body []byte
}

// tricky are bodies POP3 could easily damage: byte-stuffing, lines of a
// single dot, 8-bit and NUL bytes, bare CR, LF-only, no final newline.
var tricky = []mail{
	{"dots", []byte("Received: from a by b; Tue, 02 Jan 2024 10:11:12 +0100\r\nMessage-ID: <dots@x>\r\nSubject: dots\r\n\r\n.\r\n..\r\n...\r\n.leading\r\n..two\r\nend.\r\n.")},
	{"8bit", []byte("Subject: eight bit\r\nDate: Wed, 03 Jan 2024 08:00:00 +0000\r\n\r\nGr\xfc\xdfe, \xe2\x82\xac, \xff\xfe\x00 nul\r\nbare\rcr\r\n")},
	{"lf-only", []byte("Subject: lf only\nDate: Thu, 04 Jan 2024 09:30:00 -0500\n\nline one\n.\nline three\nFrom the start\n>From quoted\n")},
	{"dot-at-end", []byte("Date: Fri, 05 Jan 2024 09:30:00 +0000\r\nSubject: x\r\n\r\n.\r\n")},
}

// hostile returns the tricky bodies plus every message of the hostile
// corpus (POP3 has one folder; the corpus folders do not matter here).
func hostile(t testing.TB) []mail {
	t.Helper()
	msgs, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	out := append([]mail(nil), tricky...)
	for _, m := range msgs {
		out = append(out, mail{m.Name, m.Body})
	}
	return out
}

// wire is a message as a POP3 server sends it (after unstuffing): bare LF
// turned into CRLF, ending in CRLF.
func wire(body []byte) []byte {
	out := formats.ToCRLF(body)
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(append([]byte(nil), out...), '\r', '\n')
	}
	return out
}

// local is a message as a local sink (Maildir, mbox) must hold it.
func local(body []byte) []byte { return formats.ToLF(wire(body)) }

func startServer(t testing.TB, opts pop3server.Options) *pop3server.Server {
	t.Helper()
	srv, err := pop3server.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func serverMessages(msgs []mail) []pop3server.Message {
	out := make([]pop3server.Message, len(msgs))
	for i, m := range msgs {
		out[i] = pop3server.Message{Body: m.body}
	}
	return out
}

func sourceOptions(addr, user, password string) pop3.Options {
	return pop3.Options{
		Addr:        addr,
		Security:    account.SecurityNone,
		Credentials: account.Credentials{User: user, Password: account.StaticPassword(password)},
		Timeout:     20 * time.Second, // generous: -race on a loaded machine
	}
}

// copyOnce runs one copy from POP3 into dst, with the journal at state ("":
// none). edit adjusts the transfer options.
func copyOnce(ctx context.Context, so pop3.Options, dst transfer.Sink, state string, edit func(*transfer.Options)) (transfer.Summary, error) {
	src, err := pop3.New(ctx, so)
	if err != nil {
		return transfer.Summary{}, err
	}
	defer src.Close()
	opts := transfer.Options{
		SourceKey:  "pop3://" + so.Credentials.User + "@" + so.Addr,
		RetryDelay: 50 * time.Millisecond,
	}
	if state != "" {
		j, err := transfer.OpenJournal(state)
		if err != nil {
			return transfer.Summary{}, err
		}
		defer j.Close()
		opts.Journal = j
	}
	if edit != nil {
		edit(&opts)
	}
	return transfer.Run(ctx, src, dst, opts)
}

// stored is one message found in a local store.
type stored struct {
	body []byte
	date time.Time // mtime or From_ line date
}

// readMaildirInbox reads the messages of a Maildir's INBOX (cur/ and new/).
func readMaildirInbox(t testing.TB, root string) []stored {
	t.Helper()
	var out []stored
	for _, sub := range []string{"cur", "new"} {
		entries, err := os.ReadDir(filepath.Join(root, sub))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		for _, e := range entries {
			p := filepath.Join(root, sub, e.Name())
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, stored{body: b, date: fi.ModTime()})
		}
	}
	return out
}

// checkExactlyOnce checks that got holds every message of want exactly
// once, byte for byte in local form, with the date the message's own
// header gives (when it gives one).
func checkExactlyOnce(t testing.TB, want []mail, got []stored) {
	t.Helper()
	byBody := map[string][]stored{}
	for _, g := range got {
		byBody[string(g.body)] = append(byBody[string(g.body)], g)
	}
	wantCount := map[string]int{}
	for _, m := range want {
		wantCount[string(local(m.body))]++
	}
	problems := 0
	for _, m := range want {
		l := local(m.body)
		gs := byBody[string(l)]
		if len(gs) != wantCount[string(l)] {
			problems++
			t.Errorf("message %s: stored %d times, want %d", m.name, len(gs), wantCount[string(l)])
			continue
		}
		if d := pop3.MessageDate(wire(m.body)); !d.IsZero() {
			for _, g := range gs {
				if !g.date.Equal(d.Truncate(time.Second)) {
					t.Errorf("message %s: stored with date %v, want %v", m.name, g.date, d)
				}
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("store holds %d messages, want %d", len(got), len(want))
		if problems == 0 {
			var names []string
			for b := range byBody {
				if wantCount[b] == 0 {
					names = append(names, fmt.Sprintf("%.60q", b))
				}
			}
			sort.Strings(names)
			t.Errorf("unexpected messages: %s", strings.Join(names, ", "))
		}
	}
}
