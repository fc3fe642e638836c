package mbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	gombox "github.com/emersion/go-mbox"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/internal/corpus"
	sinkmbox "github.com/mailferry/mailferry/sink/mbox"
	srcmbox "github.com/mailferry/mailferry/source/mbox"
	"github.com/mailferry/mailferry/transfer"
)

var ctx = context.Background()

// stored is a message as a store holds it.
type stored struct {
	Folder string
	Flags  []string
	Date   time.Time
	Body   []byte
}

func key(m stored) string {
	return fmt.Sprintf("%s|%q|%d|%x", m.Folder, m.Flags, m.Date.Unix(), m.Body)
}

func put(t testing.TB, s *sinkmbox.Sink, msgs []stored, crlf bool) {
	t.Helper()
	for i, m := range msgs {
		body := m.Body
		if crlf {
			body = formats.ToCRLF(body)
		}
		tm := transfer.Message{Folder: m.Folder, ID: fmt.Sprint(i), Flags: m.Flags, Date: m.Date, Size: int64(len(body)), CRLF: crlf}
		if err := s.Put(ctx, tm, bytes.NewReader(body)); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
}

// readAll reads every folder of an mbox archive through the source.
func readAll(t testing.TB, path string) []stored {
	t.Helper()
	src, err := srcmbox.Open(path, srcmbox.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer src.Close()
	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatalf("Folders: %v", err)
	}
	var out []stored
	for _, f := range folders {
		list, err := src.List(ctx, f.Name)
		if err != nil {
			t.Fatalf("List %s: %v", f.Name, err)
		}
		err = src.Fetch(ctx, f.Name, list, func(m transfer.Message, r io.Reader) error {
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			if m.CRLF || int64(len(b)) != m.Size {
				t.Errorf("%s %s: CRLF=%v size %d for %d bytes", f.Name, m.ID, m.CRLF, m.Size, len(b))
			}
			out = append(out, stored{m.Folder, m.Flags, m.Date, b})
			return nil
		})
		if err != nil {
			t.Fatalf("Fetch %s: %v", f.Name, err)
		}
	}
	return out
}

func sameMessages(t *testing.T, got, want []stored) {
	t.Helper()
	g := map[string]int{}
	for _, m := range got {
		g[key(m)]++
	}
	for _, m := range want {
		// An mbox file gives a message without a final line feed one.
		if n := len(m.Body); n > 0 && m.Body[n-1] != '\n' {
			m.Body = append(append([]byte{}, m.Body...), '\n')
		}
		k := key(m)
		if g[k] == 0 {
			t.Errorf("missing or changed: folder %q flags %q date %v body %.120q", m.Folder, m.Flags, m.Date, m.Body)
			continue
		}
		g[k]--
	}
	if len(got) != len(want) {
		t.Errorf("read %d messages, wrote %d", len(got), len(want))
	}
}

func hostileCorpus(t testing.TB) []stored {
	t.Helper()
	msgs, err := corpus.Load()
	if err != nil {
		t.Fatalf("corpus: %v", err)
	}
	var out []stored
	for _, m := range msgs {
		flags, _ := formats.SplitMboxFlags(m.Flags)
		if flags == nil {
			flags = []string{}
		}
		out = append(out, stored{m.Folder, flags, m.Date.UTC().Truncate(time.Second), m.Body})
	}
	extra := []stored{
		{"INBOX", []string{}, time.Unix(1700000000, 0).UTC(), []byte("")},
		{"INBOX", []string{}, time.Unix(1700000000, 0).UTC(), []byte("Subject: only header")},
		{"INBOX", []string{}, time.Unix(1700000000, 0).UTC(), []byte("Subject: x\n\n\x00\x00From \x00\n>From \n>>From")},
		{"a:b*c", []string{`\Seen`}, time.Unix(1600000000, 0).UTC(), []byte("Subject: odd folder\n\nx\n")},
		{".hidden/sub.sbd", []string{}, time.Unix(1600000000, 0).UTC(), []byte("Subject: dots\n\nx\n")},
		{"Entwürfe", []string{`\Draft`}, time.Unix(1600000000, 0).UTC(), []byte("Subject: umlaut\n\nx\n")},
	}
	return append(out, extra...)
}

func TestRoundTripDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "archive")
	want := hostileCorpus(t)
	s, err := sinkmbox.New(dir, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, want, false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, dir)
	sameMessages(t, got, want)
	// Dovecot's mbox layout: modified UTF-7 file names without an
	// extension; Archive holds messages, so its subfolders go into
	// Archive.sbd.
	for _, f := range []string{"INBOX", "Archive", "Archive.sbd/2019", "Entw&APw-rfe", "&ZeVnLIqe-/&MMYwuTDI-", "a.b", "back\\slash", ".mailferry.lock/layout"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("folder file %s: %v", f, err)
		}
	}
	if s.DefaultStatePath() != filepath.Join(dir, ".mailferry.lock", "state") {
		t.Errorf("state path %s", s.DefaultStatePath())
	}
}

// TestOldLayoutKept: a directory written by an older version, with
// <folder>.mbox files and mailferry.state, keeps that layout, so an
// incremental run adds to the same files.
func TestOldLayoutKept(t *testing.T) {
	dir := t.TempDir()
	old := "From MAILER-DAEMON Sat Mar  9 17:04:05 2024\nStatus: RO\nX-Mailferry-Frame: 1 16\nSubject: old\n\nx\n\n"
	os.MkdirAll(filepath.Join(dir, "Archive"), 0o700)
	os.WriteFile(filepath.Join(dir, "INBOX.mbox"), []byte(old), 0o600)
	os.WriteFile(filepath.Join(dir, "Archive", "2019.mbox"), []byte(old), 0o600)
	os.WriteFile(filepath.Join(dir, "mailferry.state"), nil, 0o600)
	s, err := sinkmbox.New(dir, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.DefaultStatePath() != filepath.Join(dir, "mailferry.state") {
		t.Errorf("state path %s", s.DefaultStatePath())
	}
	now := time.Unix(1700000000, 0).UTC()
	put(t, s, []stored{{"INBOX", []string{}, now, []byte("Subject: new\n\ny\n")}, {"Archive/2019", []string{}, now, []byte("Subject: new\n\ny\n")}}, false)
	s.Close()
	got := readAll(t, dir)
	if len(got) != 4 {
		t.Fatalf("read %d messages: %q", len(got), got)
	}
	for _, f := range []string{"INBOX", "Archive/2019"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("a new-layout file %s was created in an old archive", f)
		}
	}
	for _, m := range got {
		if m.Folder != "INBOX" && m.Folder != "Archive/2019" {
			t.Errorf("folder %q", m.Folder)
		}
	}
}

// TestRoundTripCRLF: messages in network form are stored with LF.
func TestRoundTripCRLF(t *testing.T) {
	dir := t.TempDir()
	want := []stored{
		{"INBOX", []string{`\Seen`}, time.Unix(1700000000, 0).UTC(), []byte("Subject: a\n\nFrom x\nline\n")},
		{"INBOX", []string{}, time.Unix(1700000001, 0).UTC(), []byte("Subject: b\n\nno newline")},
	}
	s, err := sinkmbox.New(dir, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, want, true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "INBOX.mbox"))
	if bytes.Contains(raw, []byte("\r")) {
		t.Errorf("CR in the file: %q", raw)
	}
	sameMessages(t, readAll(t, dir), want)
}

// TestSingleFile: every folder goes into the one file, read back as INBOX.
func TestSingleFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "all.mbox")
	want := hostileCorpus(t)
	s, err := sinkmbox.New(path, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.DefaultStatePath() != path+".mailferry.state" {
		t.Errorf("state path %s", s.DefaultStatePath())
	}
	put(t, s, want, false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i].Folder = "INBOX"
	}
	sameMessages(t, readAll(t, path), want)
}

// TestPlainMboxReaders: a reader that knows nothing of the frame (go-mbox,
// mboxo) finds the same number of messages, and every line starting with
// "From " in the file separates messages.
func TestPlainMboxReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mbox")
	want := hostileCorpus(t)
	s, err := sinkmbox.New(path, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, want, false)
	s.Close()
	f, _ := os.Open(path)
	defer f.Close()
	r := gombox.NewReader(f)
	n := 0
	for {
		msg, err := r.NextMessage()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("go-mbox: %v", err)
		}
		b, _ := io.ReadAll(msg)
		header, _, _ := bytes.Cut(b, []byte("\r\n\r\n"))
		if !bytes.HasPrefix(header, []byte("Status: ")) && !bytes.Contains(header, []byte("\r\nStatus: ")) {
			t.Errorf("go-mbox message %d has no Status header: %.60q", n, b)
		}
		n++
	}
	if n != len(want) {
		t.Errorf("go-mbox found %d messages, want %d", n, len(want))
	}
}

// TestTornTailRepair cuts a written file at every offset after what was
// committed, as a run killed while appending leaves it: reopening cuts it
// back to the last Flush (saving the bytes in the torn directory), the
// committed messages stay intact, and appending works again.
func TestTornTailRepair(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.mbox")
	msgs := []stored{
		{"INBOX", []string{`\Seen`}, time.Unix(1700000000, 0).UTC(), []byte("Subject: 1\n\nFrom a\n\nbody\n")},
		{"INBOX", []string{}, time.Unix(1700000001, 0).UTC(), []byte("Subject: 2\n\n\n\nx\n")},
		{"INBOX", []string{`\Flagged`, "kw"}, time.Unix(1700000002, 0).UTC(), []byte("Subject: 3\n\n\nFrom me Sat Mar  9 17:04:05 2024\n\nend\n\n")},
	}
	s, err := sinkmbox.New(orig, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, msgs[:2], false)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(orig)
	lastStart := fi.Size()
	// The record as a killed run leaves it: open, at the last Flush.
	record, err := os.ReadFile(orig + ".mailferry.lock/committed")
	if err != nil || !strings.Contains(string(record), `"open": true`) {
		t.Fatalf("record after Flush: %s, %v", record, err)
	}
	put(t, s, msgs[2:], false)
	s.Close()
	full, _ := os.ReadFile(orig)
	extra := stored{"INBOX", []string{}, time.Unix(1700000009, 0).UTC(), []byte("Subject: after repair\n\nok\n")}

	for cut := lastStart; cut <= int64(len(full)); cut++ {
		name := fmt.Sprintf("cut%d.mbox", cut)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(path+".mailferry.lock", 0o700)
		rec := strings.Replace(string(record), `"orig.mbox"`, fmt.Sprintf("%q", name), 1)
		os.WriteFile(path+".mailferry.lock/committed", []byte(rec), 0o600)
		var warnings []string
		s, err := sinkmbox.New(path, sinkmbox.Options{Warn: func(w string) { warnings = append(warnings, w) }})
		if err != nil {
			t.Fatalf("cut %d: New: %v", cut, err)
		}
		torn := cut > lastStart
		if torn != (len(warnings) == 1) {
			t.Fatalf("cut %d: warnings %q", cut, warnings)
		}
		saved := filepath.Join(path+".mailferry.lock", "torn", fmt.Sprintf("%s@%d", name, lastStart))
		if torn && (!strings.Contains(warnings[0], path) || !strings.Contains(warnings[0], saved)) {
			t.Errorf("cut %d: warning %q does not name the file and %s", cut, warnings[0], saved)
		}
		// Cut back or not, the file holds the two messages of the last
		// flush, and the record says so.
		if n, err := s.MessageCount(ctx, "INBOX"); err != nil || n != 2 {
			t.Errorf("cut %d: MessageCount %d, %v; want 2", cut, n, err)
		}
		put(t, s, []stored{extra}, false)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		want := append(append([]stored{}, msgs[:2]...), extra)
		sameMessages(t, readAll(t, path), want)
		if torn {
			got, err := os.ReadFile(saved)
			if err != nil || !bytes.Equal(got, full[lastStart:cut]) {
				t.Fatalf("cut %d: saved torn bytes %q, %v", cut, got, err)
			}
		}
		if t.Failed() {
			t.Fatalf("cut %d failed", cut)
		}
	}
}

// TestChangedByAnotherProgram: a file that another program appended to or
// rewrote after a finished run is not cut, whatever its record says.
func TestChangedByAnotherProgram(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mbox")
	s, err := sinkmbox.New(path, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := stored{"INBOX", []string{}, time.Unix(1700000000, 0).UTC(), []byte("Subject: ours\n\nx\n")}
	put(t, s, []stored{m}, false)
	s.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("From mutt@example.org Sat Mar  9 17:04:05 2024\nSubject: theirs\n\ny\n\n")
	f.Close()
	var warnings []string
	s, err = sinkmbox.New(path, sinkmbox.Options{Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	got := readAll(t, path)
	if len(warnings) != 0 || len(got) != 2 || string(got[1].Body) != "Subject: theirs\n\ny\n" {
		t.Fatalf("warnings %q, messages %q", warnings, got)
	}
}

// TestAppendToForeign appends to an mbox file another program wrote.
func TestAppendToForeign(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mutt")
	foreign := "From alice@example.org Sat Mar  9 17:04:05 2024\nStatus: RO\nSubject: old\n\nold body without final newline"
	os.WriteFile(path, []byte(foreign), 0o600)
	s, err := sinkmbox.New(path, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := stored{"INBOX", []string{}, time.Unix(1700000000, 0).UTC(), []byte("Subject: new\n\nnew\n")}
	put(t, s, []stored{m}, false)
	s.Close()
	got := readAll(t, path)
	if len(got) != 2 || !bytes.Equal(got[1].Body, m.Body) || !strings.HasPrefix(string(got[0].Body), "Subject: old\n\nold body") {
		t.Fatalf("got %q", got)
	}
}

// putConcurrently puts want into s from workers goroutines, message i by
// worker i%workers, the worker flushing after every message whose index is
// a multiple of flushEvery; with crlf, the bodies go in network form.
func putConcurrently(t *testing.T, s *sinkmbox.Sink, want []stored, workers, flushEvery int, crlf bool) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(want))
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(want); i += workers {
				m := want[i]
				body := m.Body
				if crlf {
					body = formats.ToCRLF(body)
				}
				err := s.Put(ctx, transfer.Message{Folder: m.Folder, ID: fmt.Sprint(i), Flags: m.Flags, Date: m.Date, Size: int64(len(body)), CRLF: crlf}, bytes.NewReader(body))
				if err != nil {
					errs <- err
				}
				if i%flushEvery == 0 {
					if err := s.Flush(ctx); err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestConcurrentPuts(t *testing.T) {
	dir := t.TempDir()
	s, err := sinkmbox.New(dir, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want []stored
	for f := 0; f < 4; f++ {
		for i := 0; i < 60; i++ {
			body := fmt.Sprintf("Subject: %d-%d\nMessage-ID: <%d.%d@x>\n\nFrom line %d\n%s", f, i, f, i, i, strings.Repeat("y", i*97))
			want = append(want, stored{fmt.Sprintf("F%d/sub", f), []string{`\Seen`}, time.Unix(int64(1600000000+i), 0).UTC(), []byte(body)})
		}
	}
	putConcurrently(t, s, want, 8, 25, false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	sameMessages(t, readAll(t, dir), want)
}

// TestConcurrentPutsOneFile: Puts of network-form messages into one file
// from several workers, with Flushes among them (whose fsync lets the
// others append), store every message whole: the small ones are put into
// their mbox form before the file is locked, the ones over 1 MiB as they
// are written. A sink opened afterwards finds nothing to repair.
func TestConcurrentPutsOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "all.mbox")
	s, err := sinkmbox.New(path, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want []stored
	for i := 0; i < 120; i++ {
		size := i * 131
		if i%40 == 7 {
			size = 3 << 19 // 1.5 MiB: converted as it is written
		}
		body := fmt.Sprintf("Subject: %d\nMessage-ID: <%d@x>\n\nFrom line %d\n>From quoted\n%s\nend\n", i, i, i, strings.Repeat("z\n", size/2))
		want = append(want, stored{"INBOX", []string{`\Seen`}, time.Unix(int64(1600000000+i), 0).UTC(), []byte(body)})
	}
	putConcurrently(t, s, want, 6, 5, true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	sameMessages(t, readAll(t, path), want)
	var warned []string
	s, err = sinkmbox.New(path, sinkmbox.Options{Warn: func(w string) { warned = append(warned, w) }})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if len(warned) > 0 {
		t.Errorf("reopening warned: %q", warned)
	}
}

// indexCounts counts an index by key, size and digest.
func indexCounts(t *testing.T, s *sinkmbox.Sink, folder string) map[string]int {
	t.Helper()
	idx, err := s.Index(ctx, folder)
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, m := range idx.Messages {
		refs = append(refs, m.Ref)
	}
	digests, err := s.Digests(ctx, folder, refs)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range idx.Messages {
		out[fmt.Sprintf("%s %d %s", m.Key, m.VirtualSize, digests[m.Ref])]++
	}
	return out
}

// TestIndex: the sink's index equals the keys, sizes and digests computed
// from what the source reads back, also from a freshly opened sink.
func TestIndex(t *testing.T) {
	dir := t.TempDir()
	msgs := hostileCorpus(t)
	s, err := sinkmbox.New(dir, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, msgs, false)
	before := indexCounts(t, s, "INBOX")
	s.Close()

	want := map[string]map[string]int{}
	for _, m := range readAll(t, dir) {
		if want[m.Folder] == nil {
			want[m.Folder] = map[string]int{}
		}
		want[m.Folder][fmt.Sprintf("%s %d %s", formats.IdentityKey(m.Body), formats.VirtualSize(m.Body), formats.ContentDigest(m.Body))]++
	}
	if !reflect.DeepEqual(before, want["INBOX"]) {
		t.Errorf("INBOX index before Close differs from the source's")
	}
	s2, err := sinkmbox.New(dir, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for folder, counts := range want {
		if got := indexCounts(t, s2, folder); !reflect.DeepEqual(got, counts) {
			t.Errorf("folder %s: index %v, want %v", folder, got, counts)
		}
	}
	if sum(want["INBOX"]) < 10 || len(want["INBOX"]) == sum(want["INBOX"]) {
		t.Errorf("INBOX should hold many messages, two of them identical: %v", want["INBOX"])
	}
	empty, err := s2.Index(ctx, "No/Such/Folder")
	if err != nil || len(empty.Messages) != 0 {
		t.Errorf("missing folder: %v, %v", empty, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "No")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Index created a folder: %v", err)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func TestSinkErrors(t *testing.T) {
	dir := t.TempDir()
	notMbox := filepath.Join(dir, "notes.txt")
	os.WriteFile(notMbox, []byte("just some text\n"), 0o600)
	_, err := sinkmbox.New(notMbox, sinkmbox.Options{})
	if err == nil || !strings.Contains(err.Error(), notMbox) || !errors.Is(err, formats.ErrNotMbox) || transfer.ClassOf(err) != transfer.Fatal {
		t.Errorf("appending to a text file: %v", err)
	}
	// A directory where a folder's file should be.
	os.MkdirAll(filepath.Join(dir, "d", "INBOX"), 0o700)
	s, err := sinkmbox.New(filepath.Join(dir, "d"), sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Put(ctx, transfer.Message{Folder: "INBOX", ID: "1", Size: 3}, strings.NewReader("x\n\n"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "d", "INBOX")) || transfer.ClassOf(err) != transfer.Fatal {
		t.Errorf("directory in place of a file: %v", err)
	}
	// A message whose date cannot be written fails alone.
	err = s.Put(ctx, transfer.Message{Folder: "Other", ID: "7", Date: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), Size: 3}, strings.NewReader("x\n\n"))
	var me *transfer.MessageError
	if transfer.ClassOf(err) != transfer.PerMessage || !errors.As(err, &me) || me.ID != "7" {
		t.Errorf("bad date: %v", err)
	}
	// A short body is refused.
	err = s.Put(ctx, transfer.Message{Folder: "Other", ID: "8", Size: 10}, strings.NewReader("x\n"))
	if transfer.ClassOf(err) != transfer.PerMessage {
		t.Errorf("short body: %v", err)
	}
	// A body that cannot be read leaves nothing behind, in either form.
	for _, crlf := range []bool{false, true} {
		err = s.Put(ctx, transfer.Message{Folder: "Other", ID: "9", Size: 100, CRLF: crlf}, errBody("Subject: x\n"))
		if err == nil || !strings.Contains(err.Error(), "boom") {
			t.Errorf("failing body (CRLF %v): %v", crlf, err)
		}
	}
	s.Close()
	// (The file need not exist: a message is put into its mbox form
	// before its file is opened.)
	if b, err := os.ReadFile(filepath.Join(dir, "d", "Other")); (err != nil && !errors.Is(err, fs.ErrNotExist)) || len(b) != 0 {
		t.Errorf("Other holds %q (%v)", b, err)
	}
	// Unkeepable flags are dropped with a warning.
	var warned []string
	s, _ = sinkmbox.New(filepath.Join(dir, "w"), sinkmbox.Options{Warn: func(w string) { warned = append(warned, w) }})
	if err := s.Put(ctx, transfer.Message{Folder: "INBOX", ID: "1", Flags: []string{`\Seen`, "two words"}, Size: 3}, strings.NewReader("x\n\n")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if len(warned) != 1 || !strings.Contains(warned[0], "two words") {
		t.Errorf("warnings %q", warned)
	}
}

// errBody is a 100-byte Body whose reads past its text fail.
type errBody string

func (b errBody) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, errors.New("boom")
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, errors.New("boom")
	}
	return n, nil
}

func (errBody) Size() int64 { return 100 }

// TestLocked: a second sink on the same file waits for the lock and gives
// up with an error naming the file.
func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.mbox")
	s, err := sinkmbox.New(path, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer sinkmbox.SetLockWait(200 * time.Millisecond)()
	_, err = sinkmbox.New(path, sinkmbox.Options{})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "locked") {
		t.Errorf("second sink: %v", err)
	}
}

// TestRunEndToEnd copies an mbox archive into another through transfer.Run
// and again: the second run copies nothing, thanks to the fingerprints.
func TestRunEndToEnd(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	want := hostileCorpus(t)
	s, _ := sinkmbox.New(first, sinkmbox.Options{})
	put(t, s, want, false)
	s.Close()

	for run := 1; run <= 2; run++ {
		src, err := srcmbox.Open(first, srcmbox.Options{})
		if err != nil {
			t.Fatal(err)
		}
		dst, err := sinkmbox.New(second, sinkmbox.Options{})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := transfer.Run(ctx, src, dst, transfer.Options{})
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
		src.Close()
		if err != nil {
			t.Fatalf("run %d: %v (%+v)", run, err, sum)
		}
		wantCopied := len(want)
		if run == 2 {
			wantCopied = 0
		}
		if sum.Copied != wantCopied || sum.Failed != 0 {
			t.Fatalf("run %d: %+v", run, sum)
		}
	}
	got := readAll(t, second)
	sameMessages(t, got, want)
	folders := map[string]bool{}
	for _, m := range got {
		folders[m.Folder] = true
	}
	names := make([]string, 0, len(folders))
	for f := range folders {
		names = append(names, f)
	}
	sort.Strings(names)
	t.Logf("folders: %q", names)
}

// TestEpochIsADate: a message that arrived at the Unix epoch (a Maildir file
// with mtime 0) keeps that date; it is not taken for "no date".
func TestEpochIsADate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mbox")
	s, err := sinkmbox.New(path, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	epoch := time.Unix(0, 0).UTC()
	put(t, s, []stored{{"INBOX", []string{}, epoch, []byte("Subject: old\nDate: Tue, 1 Jan 2019 10:00:00 +0000\n\nx\n")}}, false)
	s.Close()
	got := readAll(t, path)
	if len(got) != 1 || !got[0].Date.Equal(epoch) {
		t.Fatalf("read back %v", got)
	}
}

// TestKeywordListAcrossRuns: the first message of a file lists the file's
// keywords in X-IMAPbase (what Dovecot needs to show them); a later run
// that brings new keywords writes them into that list in place: no byte
// of the file moves, and every message reads back exactly.
func TestKeywordListAcrossRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mbox")
	day := time.Unix(1700000000, 0).UTC()
	first := []stored{
		{"INBOX", []string{`\Seen`}, day, []byte("Subject: 1\n\nplain\n")},
		{"INBOX", []string{"Work"}, day, []byte("Subject: 2\n\nwork\n")},
	}
	s, err := sinkmbox.New(path, sinkmbox.Options{Warn: func(w string) { t.Errorf("warning: %s", w) }})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, first, false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	base, ok, err := formats.ReadMboxIMAPBase(bytes.NewReader(before), int64(len(before)))
	if err != nil || !ok || !reflect.DeepEqual(base.Keywords, []string{"Work"}) {
		t.Fatalf("after the first run: X-IMAPbase %+v, %v, %v", base, ok, err)
	}

	later := stored{"INBOX", []string{"$Forwarded", "Later", "Work"}, day, []byte("Subject: 3\n\nlater\n")}
	s, err = sinkmbox.New(path, sinkmbox.Options{Warn: func(w string) { t.Errorf("warning: %s", w) }})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, []stored{later}, false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	grown, ok, _ := formats.ReadMboxIMAPBase(bytes.NewReader(after), int64(len(after)))
	if !ok || !reflect.DeepEqual(grown.Keywords, []string{"Work", "$Forwarded", "Later"}) || grown.Offset != base.Offset || grown.Room != base.Room {
		t.Fatalf("after the second run: X-IMAPbase %+v, %v (was %+v)", grown, ok, base)
	}
	end := base.Offset + int64(base.Room)
	if !bytes.Equal(after[:base.Offset], before[:base.Offset]) || !bytes.Equal(after[end:len(before)], before[end:]) {
		t.Error("bytes other than the X-IMAPbase value changed")
	}
	sameMessages(t, readAll(t, path), append(first, later))
}

// TestKeywordListFull: when the list in the first message has no room for
// more keywords, the user is told once which ones Dovecot will not show;
// the messages keep all their keywords.
func TestKeywordListFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mbox")
	var warnings []string
	s, err := sinkmbox.New(path, sinkmbox.Options{Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []stored
	for i := 0; i < 40; i++ {
		msgs = append(msgs, stored{"INBOX", []string{fmt.Sprintf("keyword-number-%02d", i)}, time.Unix(1700000000, 0).UTC(), []byte(fmt.Sprintf("Subject: %d\n\nx\n", i))})
	}
	put(t, s, msgs, false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], path) || !strings.Contains(warnings[0], "Dovecot will not show them") {
		t.Fatalf("warnings %q, want one naming %s", warnings, path)
	}
	data, _ := os.ReadFile(path)
	base, ok, _ := formats.ReadMboxIMAPBase(bytes.NewReader(data), int64(len(data)))
	if !ok || len(base.Keywords) < 10 || len(base.Keywords) >= 40 || !strings.Contains(warnings[0], fmt.Sprintf("keyword-number-%02d", len(base.Keywords))) {
		t.Errorf("X-IMAPbase lists %d keywords; the warning: %s", len(base.Keywords), warnings[0])
	}
	sameMessages(t, readAll(t, path), msgs)
}
