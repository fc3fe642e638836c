package imap

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/transfer"
	"github.com/mailferry/mailferry/transfer/transfertest"
)

// TestHeldBodyInTempDir: a large body that arrives before its UID is held
// in the directory SetTempDir names (--temp-dir), not the system's, and
// the file is gone once the body is delivered.
func TestHeldBodyInTempDir(t *testing.T) {
	srv := startServer(t, imapserver.Options{UIDAfterLiteral: true})
	body := []byte("Subject: held\r\n\r\n" + strings.Repeat("a line of a held message\r\n", 9<<20/26))
	if err := srv.AddMessage("alice", "INBOX", nil, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), body); err != nil {
		t.Fatal(err)
	}
	dir, sysTemp := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", sysTemp)
	src, err := New(context.Background(), clientOpts(srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.SetTempDir(dir)
	msgs, err := src.List(context.Background(), "INBOX")
	if err != nil || len(msgs) != 1 {
		t.Fatalf("List: %d, %v", len(msgs), err)
	}
	var during []string
	var got []byte
	err = src.Fetch(context.Background(), "INBOX", msgs, func(m transfer.Message, r io.Reader) error {
		during = transfertest.TempFiles(dir, sysTemp)
		got, err = io.ReadAll(r)
		return err
	})
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("Fetch: %d bytes, %v", len(got), err)
	}
	if len(during) != 1 || filepath.Dir(during[0]) != dir {
		t.Errorf("temporary files while the body was delivered: %q, want one in %s", during, dir)
	}
	if after := transfertest.TempFiles(dir, sysTemp); len(after) != 0 {
		t.Errorf("temporary files after Fetch: %q", after)
	}
}
