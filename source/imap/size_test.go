package imap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
)

// sizeFaultSource starts a server holding testMessage(1..3) in INBOX that
// serves serve(uid, body) for BODY.PEEK[], and a source reading it whose
// warnings are collected.
func sizeFaultSource(t *testing.T, uidAfter bool, serve func(uid imap.UID, body []byte) []byte) (*Source, func() []string) {
	t.Helper()
	srv := startServer(t, imapserver.Options{
		UIDAfterLiteral: uidAfter,
		ServeBody: func(folder string, uid imap.UID, body []byte) []byte {
			if folder != "INBOX" {
				t.Errorf("ServeBody called for folder %q", folder)
			}
			return serve(uid, body)
		},
	})
	for i := 1; i <= 3; i++ {
		if err := srv.AddMessage("alice", "INBOX", nil, time.Date(2020, 1, i, 0, 0, 0, 0, time.UTC), testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var warnings []string
	opts := clientOpts(srv.Addr())
	opts.Warn = func(s string) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, s)
	}
	src, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), warnings...)
	}
}

func TestFetchEmptyBodyIsPerMessageError(t *testing.T) {
	for _, uidAfter := range []bool{false, true} {
		t.Run(fmt.Sprintf("uidAfterLiteral=%v", uidAfter), func(t *testing.T) {
			src, _ := sizeFaultSource(t, uidAfter, func(uid imap.UID, body []byte) []byte {
				if uid == 2 {
					return nil
				}
				return body
			})
			msgs, got, err := fetchAll(t, src, "INBOX")
			if len(msgs) != 3 {
				t.Fatalf("listed %d messages, want 3", len(msgs))
			}
			empty := msgs[1]
			if _, ok := got[empty.ID]; ok {
				t.Errorf("the empty body of %s was delivered", empty.ID)
			}
			for _, i := range []int{0, 2} {
				if f, ok := got[msgs[i].ID]; !ok || string(f.body) != string(testMessage(i+1)) {
					t.Errorf("message %s not delivered intact", msgs[i].ID)
				}
			}
			if err == nil {
				t.Fatal("Fetch succeeded, want a PerMessage error for the empty body")
			}
			if c := transfer.ClassOf(err); c != transfer.PerMessage {
				t.Errorf("error class %v, want PerMessage: %v", c, err)
			}
			var me *transfer.MessageError
			if !errors.As(err, &me) || me.ID != empty.ID || me.Folder != "INBOX" {
				t.Fatalf("error %v does not name message %s in INBOX", err, empty.ID)
			}
			want := fmt.Sprintf("server returned an empty body for a message of %d bytes", len(testMessage(2)))
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("more than one error: %v", err)
			}
		})
	}
}

func TestFetchSizeMismatchWarns(t *testing.T) {
	src, warnings := sizeFaultSource(t, false, func(uid imap.UID, body []byte) []byte {
		if uid == 3 {
			return body[:len(body)-7]
		}
		return body
	})
	msgs, got, err := fetchAll(t, src, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("fetched %d messages, want 3", len(got))
	}
	short := got[msgs[2].ID]
	if want := testMessage(3)[:len(testMessage(3))-7]; string(short.body) != string(want) || short.m.Size != int64(len(want)) {
		t.Errorf("short message: %d bytes, Size %d; want what the server sent (%d bytes)", len(short.body), short.m.Size, len(want))
	}
	w := warnings()
	if len(w) != 1 {
		t.Fatalf("warnings %q, want exactly one", w)
	}
	for _, s := range []string{`"INBOX"`, "UID 3", fmt.Sprintf("sent %d bytes", len(short.body)), fmt.Sprintf("listed as %d bytes", len(testMessage(3)))} {
		if !strings.Contains(w[0], s) {
			t.Errorf("warning %q does not contain %s", w[0], s)
		}
	}
}
