package imap

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
)

func TestDeleteRemovesOnlyThoseMessages(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	for i := 1; i <= 4; i++ {
		flags := []string(nil)
		if i == 4 {
			flags = []string{`\Deleted`} // marked by the user; must stay
		}
		if err := srv.AddMessage("alice", "INBOX", flags, time.Now(), testMessage(i)); err != nil {
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
	if err := src.Delete(context.Background(), "INBOX", msgs[:2]); err != nil {
		t.Fatal(err)
	}
	left, err := src.List(context.Background(), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || left[0].ID != msgs[2].ID || left[1].ID != msgs[3].ID {
		t.Errorf("left = %+v", left)
	}
}

func TestDeleteRefusesWithoutUIDPLUS(t *testing.T) {
	srv := startServer(t, imapserver.Options{Caps: imap.CapSet{imap.CapIMAP4rev1: {}}})
	if err := srv.AddMessage("alice", "INBOX", nil, time.Now(), testMessage(1)); err != nil {
		t.Fatal(err)
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
	err = src.Delete(context.Background(), "INBOX", msgs)
	if err == nil || !strings.Contains(err.Error(), "UIDPLUS") || transfer.ClassOf(err) != transfer.Fatal {
		t.Errorf("err = %v", err)
	}
	if left, _ := src.List(context.Background(), "INBOX"); len(left) != 1 {
		t.Errorf("%d messages left, want 1", len(left))
	}
}

// The folder is deleted and created again between List and Fetch: a new
// UIDVALIDITY. Nothing is fetched under the old identities; each message
// is reported.
func TestUIDValidityChange(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	for i := 1; i <= 3; i++ {
		if err := srv.AddMessage("alice", "Work", nil, time.Now(), testMessage(i)); err != nil {
			t.Fatal(err)
		}
	}
	src, err := New(context.Background(), clientOpts(srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	msgs, err := src.List(context.Background(), "Work")
	if err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialInsecure(srv.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("alice", "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("Work").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := srv.AddMessage("alice", "Work", nil, time.Now(), testMessage(9)); err != nil {
		t.Fatal(err)
	}
	// A fresh connection, so the old one's EXAMINE is not reused.
	src.pool.Close()
	src, err = New(context.Background(), clientOpts(srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	delivered := 0
	err = src.Fetch(context.Background(), "Work", msgs, func(transfer.Message, io.Reader) error { delivered++; return nil })
	if delivered != 0 {
		t.Errorf("%d messages delivered under stale identities", delivered)
	}
	var me *transfer.MessageError
	if err == nil || transfer.ClassOf(err) != transfer.PerMessage || !errors.As(err, &me) || !strings.Contains(err.Error(), "UIDVALIDITY") {
		t.Fatalf("err = %v", err)
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != len(msgs) {
		t.Errorf("%d errors for %d messages", n, len(msgs))
	}
}

func FuzzParseID(f *testing.F) {
	f.Add("1.2")
	f.Add("4294967295.4294967295")
	f.Add(".")
	f.Fuzz(func(t *testing.T, id string) {
		v, uid, err := ParseID(id)
		if err != nil {
			return
		}
		if FormatID(v, uid) != id && strings.TrimLeft(id, "0+") == id {
			t.Fatalf("%q parsed as %d.%d", id, v, uid)
		}
		if uid == 0 {
			t.Fatalf("%q: UID 0 accepted", id)
		}
	})
}
