package pop3e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/pop3server"
	"github.com/mailferry/mailferry/sink/maildir"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/transfer"
)

// copyToMaildir copies into a fresh Maildir three times: a first run, a
// re-run (copies nothing), and a run with the state file deleted (copies
// nothing either: the sink's fingerprints find every message).
func copyToMaildir(t *testing.T, so pop3.Options, msgs []mail) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "backup")
	open := func() *maildir.Sink {
		dst, err := maildir.New(root, maildir.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return dst
	}
	dst := open()
	state := dst.DefaultStatePath()
	sum, err := copyOnce(ctx, so, dst, state, nil)
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	if sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Fatalf("first run: %+v, want %d copied", sum, len(msgs))
	}
	checkExactlyOnce(t, msgs, readMaildirInbox(t, root))

	sum, err = copyOnce(ctx, so, open(), state, nil)
	if err != nil || sum.Copied != 0 || sum.Skipped != len(msgs) {
		t.Fatalf("re-run: %+v, %v; want nothing copied", sum, err)
	}

	// Lost state: the destination's index recognises every message by
	// identity, also those without any date in their header, which were
	// stored with the time of the copy.
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}
	sum, err = copyOnce(ctx, so, open(), state, nil)
	if err != nil || sum.Copied != 0 || sum.Skipped != len(msgs) {
		t.Fatalf("run without state: %+v, %v; want nothing copied", sum, err)
	}
	got := readMaildirInbox(t, root)
	if len(got) != len(msgs) {
		t.Fatalf("after the run without state the Maildir holds %d messages", len(got))
	}
}

func TestPOP3ToMaildir(t *testing.T) {
	t.Parallel()
	msgs := hostile(t)
	srv := startServer(t, pop3server.Options{Messages: serverMessages(msgs)})
	copyToMaildir(t, sourceOptions(srv.Addr(), srv.User(), srv.Password()), msgs)
	if n := len(srv.Messages()); n != len(msgs) {
		t.Errorf("server holds %d messages after copies without --delete-source, want %d", n, len(msgs))
	}
}

func TestPOP3ToMaildirUndated(t *testing.T) {
	t.Parallel()
	msgs := []mail{
		{"undated", []byte("Subject: no date\r\n\r\nbody\r\n")},
		{"dated", []byte("Subject: a date\r\nDate: Sat, 06 Jan 2024 10:00:00 +0000\r\n\r\nbody\r\n")},
	}
	srv := startServer(t, pop3server.Options{Messages: serverMessages(msgs)})
	copyToMaildir(t, sourceOptions(srv.Addr(), srv.User(), srv.Password()), msgs)
}

func TestPOP3ToMaildirNoUIDL(t *testing.T) {
	t.Parallel()
	msgs := hostile(t)
	srv := startServer(t, pop3server.Options{NoUIDL: true, Messages: serverMessages(msgs)})
	so := sourceOptions(srv.Addr(), srv.User(), srv.Password())
	var warnings []string
	so.Warn = func(s string) { warnings = append(warnings, s) }
	copyToMaildir(t, so, msgs)
	if len(warnings) == 0 || !strings.Contains(warnings[0], "no UIDL") {
		t.Errorf("warnings: %q", warnings)
	}
}

func TestPOP3ToMaildirDeleteSource(t *testing.T) {
	t.Parallel()
	msgs := hostile(t)
	srv := startServer(t, pop3server.Options{Messages: serverMessages(msgs)})
	so := sourceOptions(srv.Addr(), srv.User(), srv.Password())
	root := filepath.Join(t.TempDir(), "backup")
	dst, err := maildir.New(root, maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := copyOnce(context.Background(), so, dst, dst.DefaultStatePath(), func(o *transfer.Options) { o.DeleteSource = true })
	if err != nil || sum.Copied != len(msgs) || sum.Deleted != len(msgs) {
		t.Fatalf("copy with --delete-source: %+v, %v", sum, err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("server holds %d messages, want 0", n)
	}
	checkExactlyOnce(t, msgs, readMaildirInbox(t, root))

	// New mail arrives; the next run copies and deletes only it.
	extra := mail{"later", []byte("Subject: later\r\nDate: Sun, 07 Jan 2024 10:00:00 +0000\r\n\r\nnew\r\n")}
	srv.AddMessage(pop3server.Message{Body: extra.body})
	sum, err = copyOnce(context.Background(), so, dst, dst.DefaultStatePath(), func(o *transfer.Options) { o.DeleteSource = true })
	if err != nil || sum.Copied != 1 || sum.Deleted != 1 {
		t.Fatalf("second run: %+v, %v", sum, err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("server holds %d messages, want 0", n)
	}
	checkExactlyOnce(t, append(msgs, extra), readMaildirInbox(t, root))
}

// TestKeepDays: with --keep-days 7 a message stays on the server until a
// run at least 7 days after it was first copied.
func TestKeepDays(t *testing.T) {
	t.Parallel()
	msgs := tricky[:2]
	srv := startServer(t, pop3server.Options{Messages: serverMessages(msgs)})
	so := sourceOptions(srv.Addr(), srv.User(), srv.Password())
	root := filepath.Join(t.TempDir(), "backup")
	dst, err := maildir.New(root, maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	day0 := time.Date(2024, 2, 1, 12, 0, 0, 0, time.UTC)
	at := func(now time.Time) func(*transfer.Options) {
		return func(o *transfer.Options) {
			o.DeleteSource = true
			o.KeepDays = 7
			o.Now = func() time.Time { return now }
		}
	}
	sum, err := copyOnce(context.Background(), so, dst, dst.DefaultStatePath(), at(day0))
	if err != nil || sum.Copied != 2 || sum.Deleted != 0 {
		t.Fatalf("day 0: %+v, %v", sum, err)
	}
	// A third message arrives on day 3.
	later := mail{"day3", []byte("Subject: day 3\r\nDate: Sun, 04 Feb 2024 12:00:00 +0000\r\n\r\nx\r\n")}
	srv.AddMessage(pop3server.Message{Body: later.body})
	sum, err = copyOnce(context.Background(), so, dst, dst.DefaultStatePath(), at(day0.AddDate(0, 0, 3)))
	if err != nil || sum.Copied != 1 || sum.Deleted != 0 || len(srv.Messages()) != 3 {
		t.Fatalf("day 3: %+v, %v, %d on the server", sum, err, len(srv.Messages()))
	}
	sum, err = copyOnce(context.Background(), so, dst, dst.DefaultStatePath(), at(day0.AddDate(0, 0, 7)))
	if err != nil || sum.Copied != 0 || sum.Deleted != 2 {
		t.Fatalf("day 7: %+v, %v", sum, err)
	}
	if left := srv.Messages(); len(left) != 1 || string(left[0].Body) != string(wire(later.body)) {
		t.Fatalf("day 7: the server holds %d messages, want only the one from day 3", len(left))
	}
	sum, err = copyOnce(context.Background(), so, dst, dst.DefaultStatePath(), at(day0.AddDate(0, 0, 10)))
	if err != nil || sum.Deleted != 1 || len(srv.Messages()) != 0 {
		t.Fatalf("day 10: %+v, %v, %d on the server", sum, err, len(srv.Messages()))
	}
	checkExactlyOnce(t, append(append([]mail(nil), msgs...), later), readMaildirInbox(t, root))
}

// A run that lost its state file recognises the messages in the Maildir by
// their headers (TOP n 0) and sizes: it retrieves none.
func TestPOP3LostStateRetrievesNothing(t *testing.T) {
	t.Parallel()
	var msgs []mail
	for i := range 30 {
		msgs = append(msgs, mail{"m", []byte("Message-ID: <" + strings.Repeat("x", i) + "@pop>\r\nSubject: s\r\n\r\n" + strings.Repeat("body line\r\n", 20+i))})
	}
	var mu sync.Mutex
	retrs := 0
	srv := startServer(t, pop3server.Options{Messages: serverMessages(msgs), OnCommand: func(cmd, arg string) {
		if cmd == "RETR" {
			mu.Lock()
			retrs++
			mu.Unlock()
		}
	}})
	so := sourceOptions(srv.Addr(), srv.User(), srv.Password())
	root := filepath.Join(t.TempDir(), "backup")
	dst, err := maildir.New(root, maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := copyOnce(context.Background(), so, dst, filepath.Join(t.TempDir(), "s1"), nil); err != nil || sum.Copied != len(msgs) {
		t.Fatalf("first run: %+v, %v", sum, err)
	}
	mu.Lock()
	first := retrs
	mu.Unlock()
	sum, err := copyOnce(context.Background(), so, dst, filepath.Join(t.TempDir(), "s2"), nil)
	if err != nil || sum.Copied != 0 || sum.Skipped != len(msgs) {
		t.Fatalf("run without state: %+v, %v", sum, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if first != len(msgs) || retrs != first {
		t.Errorf("RETR sent %d times in the first run, %d in the run without state; want %d and 0", first, retrs-first, len(msgs))
	}
}
