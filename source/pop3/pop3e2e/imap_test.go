package pop3e2e

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/pop3server"
	sinkimap "github.com/mailferry/mailferry/sink/imap"
	sourceimap "github.com/mailferry/mailferry/source/imap"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/transfer"
)

// imapInbox reads back the INBOX of an IMAP account: body (CRLF, as
// APPENDed), INTERNALDATE and flags.
func imapInbox(t *testing.T, opts imapconn.Options) ([]stored, [][]string) {
	t.Helper()
	ctx := context.Background()
	src, err := sourceimap.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	list, err := src.List(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var got []stored
	var flags [][]string
	err = src.Fetch(ctx, "INBOX", list, func(m transfer.Message, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		got = append(got, stored{body: b, date: m.Date})
		flags = append(flags, m.Flags)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, flags
}

// copyToIMAP copies msgs from POP3 into the INBOX of an empty IMAP account
// three times (first run, re-run, run without state) and checks that every
// message is there once, byte-identical in network form, with its header
// date as INTERNALDATE and no flags (unseen).
func copyToIMAP(t *testing.T, so pop3.Options, msgs []mail, io imapconn.Options) {
	ctx := context.Background()
	state := t.TempDir() + "/state"
	run := func(state string) transfer.Summary {
		t.Helper()
		dst, err := sinkimap.New(ctx, io)
		if err != nil {
			t.Fatal(err)
		}
		defer dst.Close()
		sum, err := copyOnce(ctx, so, dst, state, nil)
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	if sum := run(state); sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Fatalf("first run: %+v", sum)
	}
	if sum := run(state); sum.Copied != 0 || sum.Skipped != len(msgs) {
		t.Fatalf("re-run: %+v", sum)
	}
	// Without state, the IMAP sink's fingerprints (Message-ID or header
	// hash, with INTERNALDATE and without) recognise every message, also
	// those without a date, which got the time of the copy as INTERNALDATE.
	if sum := run(t.TempDir() + "/other-state"); sum.Copied != 0 || sum.Skipped != len(msgs) {
		t.Fatalf("run without state: %+v; want nothing copied", sum)
	}

	got, flags := imapInbox(t, io)
	// IMAP keeps network form: compare wire bytes exactly, and through the
	// local form for the counts and dates.
	var asLocal []stored
	for i, g := range got {
		asLocal = append(asLocal, stored{body: local(g.body), date: g.date})
		if len(flags[i]) != 0 {
			t.Errorf("message %d has flags %q, want none (unseen)", i, flags[i])
		}
	}
	want := msgs
	checkExactlyOnce(t, want, asLocal)
	wantWire := map[string]int{}
	for _, m := range want {
		wantWire[string(wire(m.body))]++
	}
	for _, g := range got {
		if wantWire[string(g.body)] == 0 {
			t.Errorf("IMAP holds a message not byte-identical to any POP3 message: %.80q", g.body)
		}
	}
}

// TestPOP3ToIMAP copies the whole hostile corpus into the in-process IMAP
// server, which gives every message back byte for byte.
func TestPOP3ToIMAP(t *testing.T) {
	t.Parallel()
	msgs := hostile(t)
	p := startServer(t, pop3server.Options{Messages: serverMessages(msgs)})
	imapSrv, err := imapserver.Start(imapserver.Options{Users: []imapserver.User{{Name: "bob", Password: "pw"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer imapSrv.Close()
	copyToIMAP(t, sourceOptions(p.Addr(), p.User(), p.Password()), msgs, imapconn.Options{
		Addr:        imapSrv.Addr(),
		Security:    account.SecurityNone,
		Credentials: account.Credentials{User: "bob", Password: account.StaticPassword("pw")},
		Timeout:     10 * time.Second,
	})
}
