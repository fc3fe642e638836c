package mbox_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/formats"
	sinkmbox "github.com/mailferry/mailferry/sink/mbox"
	"github.com/mailferry/mailferry/transfer"
	"github.com/mailferry/mailferry/transfer/transfertest"
)

// TestOneSpoolFilePerMessage: a message too large for memory is spooled
// once, by the run, in Options.SpoolDir; the sink reads that spool (in LF
// form for a body from a server) and makes no temporary file of its own,
// in the system's temporary directory or anywhere else.
func TestOneSpoolFilePerMessage(t *testing.T) {
	spoolDir, sysTemp := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", sysTemp)
	src := transfertest.NewMemSource()
	var want []string
	for i := range 4 {
		body := fmt.Sprintf("Subject: big %d\nMessage-ID: <big%d@spool.example>\n\n", i, i) +
			strings.Repeat(fmt.Sprintf("line %d of a large message\n", i), 3<<20/26)
		want = append(want, body)
		crlf := i != 3 // three from a server, one from a local store
		if crlf {
			body = string(formats.ToCRLF([]byte(body)))
		}
		src.Add(transfer.Message{Folder: "INBOX", Date: time.Unix(1700000000+int64(i), 0), CRLF: crlf}, []byte(body))
	}
	path := filepath.Join(t.TempDir(), "archive")
	dst, err := sinkmbox.New(path, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	watch := &transfertest.TempFileWatch{Sink: dst, Dirs: []string{spoolDir, sysTemp}}
	sum, err := transfer.Run(ctx, src, watch, transfer.Options{SpoolDir: spoolDir, SpoolMemory: 1 << 20, Connections: 1, Workers: 1})
	if err != nil || sum.Copied != 4 {
		t.Fatalf("Run: %+v, %v", sum, err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	seen := watch.Seen()
	if len(seen) != 4 {
		t.Errorf("temporary files while the sink read the bodies: %q, want 4 (one per message)", seen)
	}
	for _, f := range seen {
		if filepath.Dir(f) != spoolDir || !strings.HasPrefix(filepath.Base(f), "mailferry-spool-") {
			t.Errorf("temporary file %s is not the run's spool in %s", f, spoolDir)
		}
	}
	for _, dir := range []string{spoolDir, sysTemp} {
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("%s holds %d file(s) after the run", dir, len(left))
		}
	}
	got := readAll(t, path)
	if len(got) != len(want) {
		t.Fatalf("%d messages in the archive, want %d", len(got), len(want))
	}
	for i, m := range got {
		if !bytes.Equal(m.Body, []byte(want[i])) {
			t.Errorf("message %d reads back with other bytes (%d, want %d)", i, len(m.Body), len(want[i]))
		}
	}
}
