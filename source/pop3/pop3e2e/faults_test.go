package pop3e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/pop3server"
	"github.com/mailferry/mailferry/sink/maildir"
	"github.com/mailferry/mailferry/transfer"
)

// faultMessages are small messages plus one large one, so a fault set to
// fire after a few kilobytes of a RETR hits only the large one.
func faultMessages() []mail {
	msgs := append([]mail(nil), tricky...)
	big := "Received: by mx; Wed, 10 Jan 2024 10:00:00 +0000\r\nSubject: big\r\n\r\n" + strings.Repeat(".line that is byte-stuffed\r\n", 4000)
	return append(msgs, mail{"big", []byte(big)})
}

// TestFaultsRecover: a stall, a dropped connection and [IN-USE] that go
// away after a few tries are retried; every message arrives once and
// --delete-source empties the server.
func TestFaultsRecover(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		faults pop3server.Faults
	}{
		{"stall", pop3server.Faults{StallRETRAfter: 20000, Times: 2}},
		{"drop", pop3server.Faults{DropRETRAfter: 20000, Times: 2}},
		{"drop then in-use", pop3server.Faults{DropRETRAfter: 20000, LoginError: "[IN-USE] locked by another session", Times: 3}},
		{"drop then sys/temp", pop3server.Faults{DropRETRAfter: 20000, LoginError: "[SYS/TEMP] busy", Times: 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msgs := faultMessages()
			srv := startServer(t, pop3server.Options{Messages: serverMessages(msgs)})
			so := sourceOptions(srv.Addr(), srv.User(), srv.Password())
			so.Timeout = 300 * time.Millisecond
			root := filepath.Join(t.TempDir(), "backup")
			dst, err := maildir.New(root, maildir.Options{})
			if err != nil {
				t.Fatal(err)
			}
			// The faults start after the first login, so they hit the
			// copy, not New.
			var retries int
			src := func(o *transfer.Options) {
				o.DeleteSource = true
				o.Retries = 4
				o.Progress = transfer.ProgressFunc(func(e transfer.Event) {
					if e.Kind == transfer.EventRetry {
						retries++
					}
				})
				srv.SetFaults(tt.faults)
			}
			sum, err := copyOnce(context.Background(), so, dst, dst.DefaultStatePath(), src)
			if err != nil {
				t.Fatalf("copy: %v", err)
			}
			if sum.Copied != len(msgs) || sum.Deleted != len(msgs) || sum.Failed != 0 {
				t.Fatalf("summary %+v", sum)
			}
			if retries == 0 {
				t.Error("no retry was reported")
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server holds %d messages, want 0", n)
			}
			checkExactlyOnce(t, msgs, readMaildirInbox(t, root))
		})
	}
}

// TestFaultsPersist: faults that do not go away end the run after a
// bounded number of retries with an error that says what happened, and
// nothing that was not stored is deleted.
func TestFaultsPersist(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		faults pop3server.Faults
		errHas []string
	}{
		{"stall", pop3server.Faults{StallRETRAfter: 20000}, []string{"RETR", "timed out", "gave up after 2 retries"}},
		{"drop", pop3server.Faults{DropRETRAfter: 20000}, []string{"RETR", "connection failed"}},
		{"in-use", pop3server.Faults{DropRETRAfter: 20000, LoginError: "[IN-USE] locked by another session"}, []string{"[IN-USE]", "alice"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msgs := faultMessages()
			srv := startServer(t, pop3server.Options{Messages: serverMessages(msgs)})
			so := sourceOptions(srv.Addr(), srv.User(), srv.Password())
			so.Timeout = 200 * time.Millisecond
			root := filepath.Join(t.TempDir(), "backup")
			dst, err := maildir.New(root, maildir.Options{})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			sum, err := copyOnce(context.Background(), so, dst, dst.DefaultStatePath(), func(o *transfer.Options) {
				o.DeleteSource = true
				o.Retries = 2
				srv.SetFaults(tt.faults)
			})
			if err == nil {
				t.Fatalf("copy succeeded against a server that keeps failing: %+v", sum)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("giving up took %v", d)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if !strings.Contains(err.Error(), srv.Addr()) {
				t.Errorf("error %q does not name the server", err)
			}
			// The small messages were stored; the big one was not, and
			// nothing was deleted (the folder did not finish).
			got := readMaildirInbox(t, root)
			checkExactlyOnce(t, msgs[:len(msgs)-1], got)
			if sum.Deleted != 0 || len(srv.Messages()) != len(msgs) {
				t.Errorf("deleted %d, server holds %d of %d", sum.Deleted, len(srv.Messages()), len(msgs))
			}

			// Once the server behaves, a re-run copies only the missing
			// message and deletes everything.
			srv.SetFaults(pop3server.Faults{})
			// The server may still be ending the session it dropped: its
			// maildrop lock goes with it, and a login meanwhile is
			// refused with [IN-USE], which a user's re-run retries.
			for range 50 {
				sum, err = copyOnce(context.Background(), so, dst, dst.DefaultStatePath(), func(o *transfer.Options) { o.DeleteSource = true })
				if err == nil || !strings.Contains(err.Error(), "[IN-USE]") {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err != nil || sum.Copied != 1 || sum.Deleted != len(msgs) {
				t.Fatalf("re-run: %+v, %v", sum, err)
			}
			checkExactlyOnce(t, msgs, readMaildirInbox(t, root))
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server holds %d messages, want 0", n)
			}
		})
	}
}
