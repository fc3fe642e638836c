package pop3e2e

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/pop3server"
	"github.com/mailferry/mailferry/sink/mbox"
	"github.com/mailferry/mailferry/transfer"
)

// readMbox reads the messages of one mbox file: the body as a reader of it
// gets it back (unescaped, without flag headers) and the From_ line date.
func readMbox(t testing.TB, path string) []stored {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	r := formats.NewMboxReader(f, fi.Size())
	var out []stored
	for {
		m, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		if m.Incomplete {
			t.Fatalf("%s: incomplete message at offset %d", path, m.Offset)
		}
		if len(m.Flags) != 0 {
			t.Errorf("%s: message at offset %d has flags %q, want none (unseen)", path, m.Offset, m.Flags)
		}
		b, err := io.ReadAll(m.Body())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, stored{body: b, date: m.Date})
	}
}

// TestPOP3ToMboxFile copies into one mbox file: every message once, in
// local form, with its header date on the From_ line; a re-run and a run
// without state copy nothing (but the messages a sink cannot recognise).
func TestPOP3ToMboxFile(t *testing.T) {
	t.Parallel()
	msgs := hostile(t)
	srv := startServer(t, pop3server.Options{Messages: serverMessages(msgs)})
	so := sourceOptions(srv.Addr(), srv.User(), srv.Password())
	path := filepath.Join(t.TempDir(), "inbox.mbox")
	ctx := context.Background()
	run := func(state string, edit func(*transfer.Options)) transfer.Summary {
		t.Helper()
		dst, err := mbox.New(path, mbox.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer dst.Close()
		if state == "" {
			state = dst.DefaultStatePath()
		}
		sum, err := copyOnce(ctx, so, dst, state, edit)
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	if sum := run("", nil); sum.Copied != len(msgs) || sum.Failed != 0 {
		t.Fatalf("first run: %+v", sum)
	}
	checkExactlyOnce(t, msgs, readMbox(t, path))
	if !strings.HasSuffix(path, ".mbox") {
		t.Fatal("test path must name a single mbox file")
	}
	if sum := run("", nil); sum.Copied != 0 || sum.Skipped != len(msgs) {
		t.Fatalf("re-run: %+v", sum)
	}
	if sum := run(filepath.Join(t.TempDir(), "lost-state"), nil); sum.Copied != 0 || sum.Skipped != len(msgs) {
		t.Fatalf("run without state: %+v; want nothing copied", sum)
	}
	if got := readMbox(t, path); len(got) != len(msgs) {
		t.Fatalf("mbox holds %d messages, want %d", len(got), len(msgs))
	}
}

// TestPOP3ToMboxFileDeleteSource is the POP3 download-and-delete job into
// one mbox file, with a 20 MB message among the others.
func TestPOP3ToMboxFileDeleteSource(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("Received: by mx; Fri, 12 Jan 2024 10:00:00 +0000\r\nSubject: big\r\n\r\n")
	for i := 0; b.Len() < 20<<20; i++ {
		if i%100 == 0 {
			b.WriteString("From the start of a line\r\n.\r\n")
		}
		b.WriteString(".a line of a large message, starting with a dot...........\r\n")
	}
	msgs := append(append([]mail(nil), tricky...), mail{"20MB", []byte(b.String())})
	srv := startServer(t, pop3server.Options{Messages: serverMessages(msgs)})
	so := sourceOptions(srv.Addr(), srv.User(), srv.Password())
	path := filepath.Join(t.TempDir(), "inbox.mbox")
	dst, err := mbox.New(path, mbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	sum, err := copyOnce(context.Background(), so, dst, dst.DefaultStatePath(), func(o *transfer.Options) {
		o.DeleteSource = true
		o.SpoolDir = t.TempDir()
	})
	if err != nil || sum.Copied != len(msgs) || sum.Deleted != len(msgs) {
		t.Fatalf("copy: %+v, %v", sum, err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("server holds %d messages, want 0", n)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, msgs, readMbox(t, path))
}
