package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/faultproxy"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/internal/imapserver"
	"github.com/mailferry/mailferry/internal/imapserver/servertest"
	"github.com/mailferry/mailferry/transfer"
)

func startServer(t *testing.T, opts imapserver.Options) *imapserver.Server {
	opts.Users = []imapserver.User{{Name: "alice", Password: "secret"}}
	return servertest.Start(t, opts)
}

type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) add(s string) {
	w.mu.Lock()
	w.list = append(w.list, s)
	w.mu.Unlock()
}

func (w *warnings) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.list, "\n")
}

func newSink(t *testing.T, addr string, w *warnings) *Sink {
	t.Helper()
	opts := imapconn.Options{
		Addr:        addr,
		Security:    account.SecurityNone,
		Credentials: account.Credentials{User: "alice", Password: account.StaticPassword("secret")},
		Timeout:     2 * time.Second,
	}
	if w != nil {
		opts.Warn = w.add
	}
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t *testing.T, s *Sink, m transfer.Message, body []byte) error {
	t.Helper()
	m.Size = int64(len(body))
	return s.Put(context.Background(), m, bytes.NewReader(body))
}

func dump(t *testing.T, srv *imapserver.Server) map[string][]imapserver.Stored {
	t.Helper()
	d, err := imapserver.Dump(srv.Addr(), nil, "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var date = time.Date(2011, 7, 8, 9, 10, 11, 0, time.FixedZone("", -4*3600))

func TestSinkPutsWithFlagsDateAndLineEndings(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	var w warnings
	s := newSink(t, srv.Addr(), &w)
	lf := []byte("From: a@example.org\nMessage-ID: <lf@example.org>\nSubject: lf\n\nline one\nline two\n")
	crlf := []byte("From: a@example.org\r\nMessage-ID: <crlf@example.org>\r\n\r\nbody\r\n")
	err := put(t, s, transfer.Message{Folder: "Entwürfe & Co/2011", ID: "1", Flags: []string{`\Seen`, `\Flagged`, `\Answered`, `\Draft`, `\Deleted`, "$Forwarded", "Work", "[Gmail]Label", `\Recent`}, Date: date}, lf)
	if err != nil {
		t.Fatal(err)
	}
	if err := put(t, s, transfer.Message{Folder: "INBOX", ID: "2", Date: date, CRLF: true}, crlf); err != nil {
		t.Fatal(err)
	}
	d := dump(t, srv)
	if _, ok := d["Entwürfe & Co"]; !ok {
		t.Errorf("parent folder not created: %v", keys(d))
	}
	got := d["Entwürfe & Co/2011"]
	if len(got) != 1 {
		t.Fatalf("folder has %d messages, want 1 (folders %v)", len(got), keys(d))
	}
	if !bytes.Equal(got[0].Body, formats.ToCRLF(lf)) {
		t.Errorf("body = %q", got[0].Body)
	}
	if want := `$forwarded \Answered \Deleted \Draft \Flagged \Seen work`; !strings.EqualFold(strings.Join(got[0].Flags, " "), want) {
		t.Errorf("flags = %v, want %s", got[0].Flags, want)
	}
	if !got[0].Date.Equal(date) {
		t.Errorf("date = %v, want %v", got[0].Date, date)
	}
	if !strings.Contains(w.all(), `"[Gmail]Label"`) || !strings.Contains(w.all(), `Entwürfe & Co/2011`) {
		t.Errorf("no warning naming the dropped keyword and folder: %q", w.all())
	}
	if in := d["INBOX"]; len(in) != 1 || !bytes.Equal(in[0].Body, crlf) {
		t.Errorf("INBOX = %+v", in)
	}

	// The index and the digests match what a source would compute from
	// the message.
	ctx := context.Background()
	idx, err := s.Index(ctx, "Entwürfe & Co/2011")
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Messages) != 1 || idx.Messages[0].Key != formats.IdentityKey(lf) ||
		idx.Messages[0].VirtualSize != formats.VirtualSize(lf) || idx.Identity == "" {
		t.Errorf("index = %+v, want key %s size %d", idx, formats.IdentityKey(lf), formats.VirtualSize(lf))
	}
	if len(idx.Messages) == 1 {
		ds, err := s.Digests(ctx, "Entwürfe & Co/2011", []string{idx.Messages[0].Ref, "999"})
		if err != nil || len(ds) != 1 || ds[idx.Messages[0].Ref] != formats.ContentDigest(lf) {
			t.Errorf("digests = %v, %v", ds, err)
		}
	}
	idx, err = s.Index(ctx, "No/Such/Folder")
	if err != nil || len(idx.Messages) != 0 {
		t.Errorf("missing folder: %v, %v", idx, err)
	}
}

func keys(m map[string][]imapserver.Stored) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSinkFolderNamesWithDotAndPrefix(t *testing.T) {
	srv := startServer(t, imapserver.Options{Delimiter: '.', Prefix: "INBOX."})
	s := newSink(t, srv.Addr(), nil)
	if s.ServerInfo().Delim != '.' || s.ServerInfo().Prefix != "INBOX." {
		t.Fatalf("server info = %v", s.ServerInfo())
	}
	body := []byte("Subject: x\r\n\r\nx\r\n")
	for _, f := range []string{"Archive/2019", "INBOX"} {
		if err := put(t, s, transfer.Message{Folder: f, ID: f, CRLF: true}, body); err != nil {
			t.Fatal(err)
		}
	}
	d := dump(t, srv)
	if len(d["INBOX.Archive.2019"]) != 1 || len(d["INBOX"]) != 1 {
		t.Errorf("folders = %v", keys(d))
	}
}

func TestSinkFolderForRole(t *testing.T) {
	srv := startServer(t, imapserver.Options{SpecialUse: map[string]string{"Gesendet": `\Sent`}})
	if err := srv.AddMessage("alice", "Deleted Items", nil, date, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	s := newSink(t, srv.Addr(), nil)
	for role, want := range map[string]string{`\Sent`: "Gesendet", `\Trash`: "Deleted Items", `\Junk`: ""} {
		got, ok, err := s.FolderForRole(context.Background(), role)
		if err != nil || got != want || ok != (want != "") {
			t.Errorf("FolderForRole(%s) = %q, %v, %v; want %q", role, got, ok, err, want)
		}
	}
}

func TestSinkKeywordsTheFolderCannotKeep(t *testing.T) {
	// imapmemserver announces no PERMANENTFLAGS, which means every flag
	// is kept; a folder with a fixed list is simulated on the sink side.
	srv := startServer(t, imapserver.Options{})
	var w warnings
	s := newSink(t, srv.Addr(), &w)
	f := s.folder("INBOX")
	if err := s.prepare(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.anyKeyword = false
	f.permanent = nil
	f.mu.Unlock()
	if err := put(t, s, transfer.Message{Folder: "INBOX", ID: "k", Flags: []string{`\Seen`, "Work"}, CRLF: true}, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	in := dump(t, srv)["INBOX"]
	if len(in) != 1 || strings.Join(in[0].Flags, " ") != `\Seen` {
		t.Errorf("INBOX = %+v", in)
	}
	if !strings.Contains(w.all(), `message k: flag "Work" not stored`) {
		t.Errorf("warnings = %q", w.all())
	}
}

// A connection cut in the middle of an APPEND literal: the sink must
// leave no partial message, even on a server that keeps one, and the
// next attempt stores the message exactly once.
func TestSinkAppendCutMidLiteral(t *testing.T) {
	srv := startServer(t, imapserver.Options{KeepPartialAppend: true})
	proxy, err := faultproxy.Start(srv.Addr(), faultproxy.Fault{Dir: faultproxy.ToServer, Match: []byte("APPEND"), After: 5000, Action: faultproxy.Cut, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	var w warnings
	s := newSink(t, proxy.Addr(), &w)
	body := []byte("Message-ID: <big@example.org>\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 2000))
	m := transfer.Message{Folder: "INBOX", ID: "big", Date: date, CRLF: true}
	err = put(t, s, m, body)
	if proxy.Fired() != 1 {
		t.Fatalf("fault fired %d times", proxy.Fired())
	}
	if err == nil || transfer.ClassOf(err) != transfer.Temporary {
		t.Fatalf("cut APPEND: err = %v (class %v), want a Temporary error", err, transfer.ClassOf(err))
	}
	// The server may store the partial copy only after the sink's new
	// connection looked; wait until it is either deleted or visible.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(w.all(), "deleted the partial copy") || len(dump(t, srv)["INBOX"]) > 0 {
			break
		}
	}
	if err := put(t, s, m, body); err != nil {
		t.Fatal(err)
	}
	// The partial copy is deleted at once, or, when the server stores it
	// only after the new connection looked, by the sweep in Close.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	in := dump(t, srv)["INBOX"]
	if len(in) != 1 || !bytes.Equal(in[0].Body, body) {
		for _, m := range in {
			t.Logf("UID %d: %d bytes", m.UID, len(m.Body))
		}
		t.Fatalf("INBOX holds %d messages, want the one complete copy; warnings: %s", len(in), w.all())
	}
	if !strings.Contains(w.all(), "deleted the partial copy") {
		t.Errorf("no warning about the deleted partial copy: %q", w.all())
	}
}

// A server that stops answering during an APPEND: the watchdog ends the
// wait with a Temporary error that says so.
func TestSinkAppendStalls(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	proxy, err := faultproxy.Start(srv.Addr(), faultproxy.Fault{Dir: faultproxy.ToServer, Match: []byte("APPEND"), Action: faultproxy.Stall, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	s := newSink(t, proxy.Addr(), nil)
	// Set the folder up first, so the stall hits the APPEND.
	if err := s.prepare(context.Background(), s.folder("INBOX")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = put(t, s, transfer.Message{Folder: "INBOX", ID: "s", CRLF: true}, []byte("x\r\n"))
	if err == nil || transfer.ClassOf(err) != transfer.Temporary || !errors.Is(err, imapconn.ErrTimeout) {
		t.Fatalf("err = %v (class %v), want a Temporary timeout", err, transfer.ClassOf(err))
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if err := put(t, s, transfer.Message{Folder: "INBOX", ID: "s", CRLF: true}, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if in := dump(t, srv)["INBOX"]; len(in) != 1 {
		t.Errorf("INBOX holds %d messages, want 1", len(in))
	}
}

func TestSinkConcurrentPuts(t *testing.T) {
	srv := startServer(t, imapserver.Options{})
	s := newSink(t, srv.Addr(), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			folder := fmt.Sprintf("F%d/sub", i%3)
			body := []byte(fmt.Sprintf("Message-ID: <%d@x>\r\n\r\n%d\r\n", i, i))
			errs <- put(t, s, transfer.Message{Folder: folder, ID: fmt.Sprint(i), CRLF: true}, body)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	d := dump(t, srv)
	total := 0
	for i := 0; i < 3; i++ {
		total += len(d[fmt.Sprintf("F%d/sub", i)])
	}
	if total != 40 {
		t.Errorf("stored %d messages, want 40", total)
	}
}

// A folder the server refuses to create is stored under
// transfer.RefusedFolderName; when that is refused too, each of its
// messages fails with a transfer.FolderRefusedError naming folder and
// answer. Each CREATE is sent once, and other folders are not affected.
func TestSinkRefusedFolder(t *testing.T) {
	var mu sync.Mutex
	creates := map[string]int{}
	cannot := func(folder string) *imap.Error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
			Text: "Character not allowed in mailbox name: '.' (0.001 + 0.000 secs)."}
	}
	srv := startServer(t, imapserver.Options{Refuse: func(command, folder string) *imap.Error {
		if command != "CREATE" {
			return nil
		}
		mu.Lock()
		creates[folder]++
		mu.Unlock()
		// Names with a '.' are refused, and "Old*" whatever it becomes.
		if strings.Contains(folder, ".") || strings.HasPrefix(folder, "Old") {
			return cannot(folder)
		}
		return nil
	}})
	var w warnings
	s := newSink(t, srv.Addr(), &w)
	body := []byte("From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n")
	for i := 0; i < 3; i++ {
		if err := put(t, s, transfer.Message{Folder: "v1.2", ID: fmt.Sprint(i), Date: date, CRLF: true}, body); err != nil {
			t.Fatalf("put %d into v1.2: %v", i, err)
		}
		err := put(t, s, transfer.Message{Folder: "Old.1", ID: fmt.Sprint(i), Date: date, CRLF: true}, body)
		var fr *transfer.FolderRefusedError
		if !errors.As(err, &fr) || transfer.ClassOf(err) != transfer.PerMessage {
			t.Fatalf("put %d into Old.1: %v (class %v), want a PerMessage FolderRefusedError", i, err, transfer.ClassOf(err))
		}
		want := `imap alice@` + srv.Addr() + ` refused to create folder "Old.1": NO [CANNOT] Character not allowed in mailbox name: '.'`
		if fr.Folder != "Old.1" || err.Error() != want {
			t.Errorf("put %d: %q (folder %q), want %q", i, err, fr.Folder, want)
		}
	}
	mu.Lock()
	for _, name := range []string{"v1.2", "v1_2", "Old.1", "Old_1"} {
		if creates[name] != 1 {
			t.Errorf("CREATE %s sent %d times, want once", name, creates[name])
		}
	}
	mu.Unlock()
	if got := strings.Count(w.all(), `refused to create folder "Old.1"`); got != 1 {
		t.Errorf("%d warnings about Old.1, want 1: %q", got, w.all())
	}
	if got := s.RenamedFolders(); len(got) != 1 || got["v1.2"] != "v1_2" {
		t.Errorf("renamed folders %v, want v1.2 → v1_2 only", got)
	}
	if err := put(t, s, transfer.Message{Folder: "Projects", ID: "p", Date: date, CRLF: true}, body); err != nil {
		t.Errorf("another folder: %v", err)
	}
	d := dump(t, srv)
	if len(d["Projects"]) != 1 || len(d["v1_2"]) != 3 || len(d["v1.2"]) != 0 || len(d["Old_1"]) != 0 {
		t.Errorf("folders after the refusals: %v", keys(d))
	}
}
