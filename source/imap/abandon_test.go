package imap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
)

// A Fetch whose callback gives up in the middle of a body, or whose context
// is cancelled while the callback works, must return at once: go-imap's
// decoder waits for an unread literal, and closing the client waits for the
// decoder. This hung every interrupted or failed run that read from IMAP.
func TestFetchGivesUpMidLiteral(t *testing.T) {
	big := func(i int) []byte {
		return []byte(fmt.Sprintf("Message-ID: <big%d@example.org>\r\nSubject: big %d\r\n\r\n%s", i, i, strings.Repeat("0123456789abcdef\r\n", 100000)))
	}
	for _, tc := range []struct {
		name string
		// stop is called after the callback read some of the first body;
		// it returns what the callback returns.
		stop func(cancel context.CancelFunc) error
	}{
		{"callback error", func(context.CancelFunc) error { return errors.New("destination full") }},
		{"context cancelled", func(cancel context.CancelFunc) error { cancel(); return context.Canceled }},
	} {
		for _, uidAfter := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/uidAfterLiteral=%v", tc.name, uidAfter), func(t *testing.T) {
				srv := startServer(t, imapserver.Options{UIDAfterLiteral: uidAfter})
				for i := range 4 {
					if err := srv.AddMessage("alice", "INBOX", nil, time.Unix(1700000000, 0), big(i)); err != nil {
						t.Fatal(err)
					}
				}
				src, err := New(context.Background(), clientOpts(srv.Addr()))
				if err != nil {
					t.Fatal(err)
				}
				msgs, err := src.List(context.Background(), "INBOX")
				if err != nil || len(msgs) != 4 {
					t.Fatalf("List: %d messages, %v", len(msgs), err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				start := time.Now()
				done := make(chan error, 1)
				calls := 0
				go func() {
					done <- src.Fetch(ctx, "INBOX", msgs, func(m transfer.Message, r io.Reader) error {
						calls++
						if _, err := io.ReadFull(r, make([]byte, 1000)); err != nil {
							return err
						}
						return tc.stop(cancel)
					})
				}()
				select {
				case err = <-done:
				case <-time.After(5 * time.Second):
					t.Fatal("Fetch still running 5 s after its callback gave up mid-literal")
				}
				if err == nil {
					t.Fatal("Fetch returned nil after the callback failed")
				}
				if calls != 1 {
					t.Errorf("callback called %d times, want 1", calls)
				}
				t.Logf("Fetch returned in %v: %v", time.Since(start).Round(time.Millisecond), err)

				// The source goes on with a new connection.
				_, got, err := fetchAll(t, src, "INBOX")
				if err != nil || len(got) != 4 {
					t.Errorf("fetch after the abandoned one: %d bodies, %v", len(got), err)
				}
				closed := make(chan struct{})
				go func() { src.Close(); close(closed) }()
				select {
				case <-closed:
				case <-time.After(5 * time.Second):
					t.Fatal("Close still running 5 s after an abandoned Fetch")
				}
			})
		}
	}
}
