package maildir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/formats"
	"github.com/mailferry/mailferry/transfer"
)

var ctx = context.Background()

func newSink(t *testing.T, opts Options) (*Sink, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	s, err := New(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

// put stores one message and flushes it, as transfer.Run does before it
// journals a message.
func put(t *testing.T, s *Sink, m transfer.Message, body string) {
	t.Helper()
	m.Size = int64(len(body))
	if err := s.Put(ctx, m, strings.NewReader(body)); err != nil {
		t.Fatalf("Put(%q, %s): %v", m.Folder, m.ID, err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush after Put(%q, %s): %v", m.Folder, m.ID, err)
	}
}

// files lists the names in dir, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestNewCreatesMaildir(t *testing.T) {
	s, root := newSink(t, Options{})
	for _, sub := range []string{"tmp", "new", "cur"} {
		if st, err := os.Stat(filepath.Join(root, sub)); err != nil || !st.IsDir() {
			t.Errorf("%s/ not created: %v", sub, err)
		}
	}
	if got := files(t, filepath.Join(root, "tmp")); len(got) != 0 {
		t.Errorf("tmp/ holds %q after New", got)
	}
	if s.DefaultStatePath() != filepath.Join(root, "mailferry.state") {
		t.Errorf("DefaultStatePath = %q", s.DefaultStatePath())
	}
	// Opening it again is fine.
	if _, err := New(root, Options{}); err != nil {
		t.Fatalf("second New: %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	notMaildir := filepath.Join(dir, "home")
	os.MkdirAll(filepath.Join(notMaildir, "Documents"), 0o700)
	brokenTmp := filepath.Join(dir, "broken")
	os.MkdirAll(filepath.Join(brokenTmp, "cur"), 0o700)
	os.WriteFile(filepath.Join(brokenTmp, "tmp"), nil, 0o600)

	for _, tc := range []struct{ path, says string }{
		{file, "not a directory"},
		{notMaildir, "not a Maildir"},
		{brokenTmp, "tmp"},
	} {
		_, err := New(tc.path, Options{})
		if err == nil {
			t.Errorf("New(%s) succeeded", tc.path)
			continue
		}
		if transfer.ClassOf(err) != transfer.Fatal || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("New(%s) = %v (%v); want a fatal error naming the path and saying %q", tc.path, err, transfer.ClassOf(err), tc.says)
		}
	}
	if _, err := New(dir, Options{Layout: "mh"}); err == nil {
		t.Error("New accepted an unknown layout")
	}
}

func TestPutFolderLayout(t *testing.T) {
	for _, tc := range []struct {
		layout string
		dirs   map[string]string
	}{
		{"", map[string]string{"INBOX": "", "Archive/2019": ".Archive.2019", "a.b": `.a\2eb`, "Entwürfe": ".Entw&APw-rfe", "inbox/Sub": ".INBOX.Sub"}},
		{"fs", map[string]string{"INBOX": "", "Archive/2019": "Archive/2019", "a.b": "a.b", "Entwürfe": "Entw&APw-rfe"}},
	} {
		t.Run("layout="+tc.layout, func(t *testing.T) {
			s, root := newSink(t, Options{Layout: tc.layout})
			for folder := range tc.dirs {
				put(t, s, transfer.Message{Folder: folder, ID: "1"}, "Subject: x\n\nbody\n")
			}
			for folder, rel := range tc.dirs {
				dir := filepath.Join(root, filepath.FromSlash(rel))
				if got := files(t, filepath.Join(dir, "cur")); len(got) != 1 {
					t.Errorf("folder %q: %s/cur holds %q, want one message", folder, rel, got)
				}
				_, err := os.Stat(filepath.Join(dir, "maildirfolder"))
				if wantMF := rel != "" && tc.layout == ""; wantMF != (err == nil) {
					t.Errorf("folder %q: maildirfolder present = %v, want %v", folder, err == nil, wantMF)
				}
				for _, sub := range []string{"tmp", "new"} {
					if got := files(t, filepath.Join(dir, sub)); len(got) != 0 {
						t.Errorf("folder %q: %s/ holds %q", folder, sub, got)
					}
				}
			}
		})
	}
}

var nameRE = regexp.MustCompile(`^(\d+)\.M(\d+)P\d+Q\d+R[0-9a-f]{16}\.[^/:]+,S=(\d+),W=(\d+):2,([A-Za-z]*)$`)

func TestPutFileNameContentDate(t *testing.T) {
	s, root := newSink(t, Options{})
	date := time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tc := range []struct {
		crlf       bool
		body, want string
	}{
		{true, "Subject: a\r\n\r\nline 1\r\nline 2\r\n", "Subject: a\n\nline 1\nline 2\n"},
		{true, "Subject: b\r\n\r\nbare\rCR and bare\nLF\r\nno final newline", "Subject: b\n\nbare\rCR and bare\nLF\nno final newline"},
		{false, "Subject: c\r\n\r\nmixed\r\nand\nkept\r\n", "Subject: c\r\n\r\nmixed\r\nand\nkept\r\n"},
		{false, "Subject: d\n\nNUL\x00bytes\x00\n\xff\xfe", "Subject: d\n\nNUL\x00bytes\x00\n\xff\xfe"},
		{true, "Subject: e\r\n\r\nends in CR\r", "Subject: e\n\nends in CR\r"},
	} {
		inbox := filepath.Join(root, "cur")
		before := files(t, inbox)
		put(t, s, transfer.Message{Folder: "INBOX", ID: "x", Flags: []string{`\Seen`, `\Flagged`}, Date: date, CRLF: tc.crlf}, tc.body)
		after := files(t, inbox)
		if len(after) != len(before)+1 {
			t.Fatalf("cur/ has %d files, want %d", len(after), len(before)+1)
		}
		var name string
		for _, n := range after {
			if !contains(before, n) {
				name = n
			}
		}
		m := nameRE.FindStringSubmatch(name)
		if m == nil {
			t.Fatalf("file name %q is not Dovecot style", name)
		}
		data, err := os.ReadFile(filepath.Join(inbox, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != tc.want {
			t.Errorf("stored %q, want %q", data, tc.want)
		}
		if m[3] != fmt.Sprint(len(data)) || m[4] != fmt.Sprint(formats.WireSize(data)) {
			t.Errorf("%s: S=%s W=%s, want %d and %d", name, m[3], m[4], len(data), formats.WireSize(data))
		}
		if m[5] != "FS" {
			t.Errorf("%s: letters %q, want FS", name, m[5])
		}
		st, _ := os.Stat(filepath.Join(inbox, name))
		if !st.ModTime().Equal(date) {
			t.Errorf("mtime %v, want %v", st.ModTime(), date)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", st.Mode())
		}
	}
	// A zero date becomes the delivery time.
	start := time.Now().Add(-time.Second)
	put(t, s, transfer.Message{Folder: "Undated", ID: "u"}, "Subject: u\n\n")
	names := files(t, filepath.Join(root, ".Undated", "cur"))
	st, _ := os.Stat(filepath.Join(root, ".Undated", "cur", names[0]))
	if st.ModTime().Before(start) || st.ModTime().After(time.Now().Add(time.Second)) {
		t.Errorf("undated message has mtime %v", st.ModTime())
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// letters returns the info letters of the only message in dir/cur.
func onlyMessage(t *testing.T, dir string) formats.MaildirName {
	t.Helper()
	names := files(t, filepath.Join(dir, "cur"))
	if len(names) != 1 {
		t.Fatalf("%s/cur holds %q", dir, names)
	}
	n, err := formats.ParseMaildirName(names[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPutKeywords(t *testing.T) {
	s, root := newSink(t, Options{})
	dir := filepath.Join(root, ".Work")
	os.MkdirAll(filepath.Join(dir, "cur"), 0o700)
	// A table another program left: its letters must stay.
	os.WriteFile(filepath.Join(dir, "dovecot-keywords"), []byte("0 Old\n2 Junk\n"), 0o600)

	var warnings []string
	s.opts.Warn = func(w string) { warnings = append(warnings, w) }
	put(t, s, transfer.Message{Folder: "Work", ID: "k1", Flags: []string{`\Seen`, "old", "$Forwarded", "New", "bad word", `\Recent`}}, "Subject: k\n\n")

	kwData, _ := os.ReadFile(filepath.Join(dir, "dovecot-keywords"))
	kw, skipped := formats.ParseMaildirKeywords(kwData)
	if len(skipped) != 0 || kw[0] != "Old" || kw[2] != "Junk" {
		t.Fatalf("dovecot-keywords = %q: existing letters changed", kwData)
	}
	n := onlyMessage(t, dir)
	flags, unknown := n.FlagsWith(&kw)
	if want := []string{"$Forwarded", "New", "Old", `\Seen`}; !equal(flags, want) || len(unknown) != 0 {
		t.Errorf("flags read back %q (unknown %q), want %q", flags, unknown, want)
	}
	if !bytes.Contains([]byte(files(t, filepath.Join(dir, "cur"))[0]), []byte(":2,PS")) {
		t.Errorf("name %q lacks the P and S letters", files(t, filepath.Join(dir, "cur"))[0])
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"bad word"`) || !strings.Contains(warnings[0], "k1") {
		t.Errorf("warnings %q, want one about the invalid keyword", warnings)
	}
	for _, leftover := range []string{"dovecot-keywords.lock"} {
		if _, err := os.Stat(filepath.Join(dir, leftover)); err == nil {
			t.Errorf("%s left behind", leftover)
		}
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func TestPutKeywordOverflow(t *testing.T) {
	s, root := newSink(t, Options{})
	var warnings []string
	s.opts.Warn = func(w string) { warnings = append(warnings, w) }
	var flags []string
	for i := 0; i < 27; i++ {
		flags = append(flags, fmt.Sprintf("kw%02d", i))
	}
	put(t, s, transfer.Message{Folder: "Many", ID: "m1", Flags: flags}, "Subject: many\n\n")
	dir := filepath.Join(root, ".Many")
	kwData, _ := os.ReadFile(filepath.Join(dir, "dovecot-keywords"))
	kw, _ := formats.ParseMaildirKeywords(kwData)
	got, _ := onlyMessage(t, dir).FlagsWith(&kw)
	if len(got) != 26 || contains(got, "kw26") {
		t.Errorf("stored %d keywords %q, want the first 26", len(got), got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"Many"`) || !strings.Contains(warnings[0], "m1") || !strings.Contains(warnings[0], `"kw26"`) {
		t.Errorf("warnings %q, want one naming folder, message and keyword", warnings)
	}
}

// $Forwarded is the letter P and nothing else: a folder with 26 keywords
// keeps all of them on a forwarded message.
func TestForwardedIsLetterPOnly(t *testing.T) {
	s, root := newSink(t, Options{})
	var warnings []string
	s.opts.Warn = func(w string) { warnings = append(warnings, w) }
	flags := []string{"$Forwarded", `\Seen`}
	for i := 0; i < 26; i++ {
		flags = append(flags, fmt.Sprintf("kw%02d", i))
	}
	put(t, s, transfer.Message{Folder: "Fwd", ID: "f1", Flags: flags}, "Subject: fwd\n\n")
	dir := filepath.Join(root, ".Fwd")
	kwData, _ := os.ReadFile(filepath.Join(dir, "dovecot-keywords"))
	if strings.Contains(string(kwData), "$Forwarded") {
		t.Errorf("dovecot-keywords = %q: $Forwarded took a keyword letter", kwData)
	}
	kw, _ := formats.ParseMaildirKeywords(kwData)
	n := onlyMessage(t, dir)
	got, unknown := n.FlagsWith(&kw)
	if len(got) != 28 || !contains(got, "$Forwarded") || !contains(got, "kw25") || len(unknown) != 0 {
		t.Errorf("stored %d flags %q (unknown %q), want $Forwarded, \\Seen and 26 keywords", len(got), got, unknown)
	}
	name := files(t, filepath.Join(dir, "cur"))[0]
	if _, letters, _ := strings.Cut(name, ":2,"); !strings.HasPrefix(letters, "PS") || len(letters) != 28 {
		t.Errorf("name %q: want P, S and 26 keyword letters", name)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings %q, want none", warnings)
	}
}

// A message that arrived at the Unix epoch is stored with mtime 0, its
// date, and not with the time of the copy as a message without a date is.
func TestEpochIsADate(t *testing.T) {
	s, root := newSink(t, Options{})
	put(t, s, transfer.Message{Folder: "INBOX", ID: "1", Date: time.Unix(0, 0)}, "Subject: 1970\n\nx\n")
	fi, err := os.Stat(filepath.Join(root, "cur", files(t, filepath.Join(root, "cur"))[0]))
	if err != nil || fi.ModTime().Unix() != 0 {
		t.Fatalf("mtime %v, %v; want 1970-01-01T00:00:00Z", fi.ModTime().UTC(), err)
	}
	before := time.Now().Add(-time.Minute)
	put(t, s, transfer.Message{Folder: "Undated", ID: "2"}, "Subject: no date\n\nx\n")
	dir := filepath.Join(root, ".Undated", "cur")
	if fi, err := os.Stat(filepath.Join(dir, files(t, dir)[0])); err != nil || fi.ModTime().Before(before) {
		t.Errorf("a message without a date: mtime %v, %v; want the time of the copy", fi.ModTime(), err)
	}
}

func TestStaleKeywordsLockIsBroken(t *testing.T) {
	s, root := newSink(t, Options{})
	lock := filepath.Join(root, "dovecot-keywords.lock")
	os.WriteFile(lock, []byte("junk"), 0o600)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(lock, old, old)
	put(t, s, transfer.Message{Folder: "INBOX", ID: "1", Flags: []string{"Todo"}}, "Subject: x\n\n")
	data, err := os.ReadFile(filepath.Join(root, "dovecot-keywords"))
	if err != nil || string(data) != "0 Todo\n" {
		t.Fatalf("dovecot-keywords = %q, %v", data, err)
	}
	if _, err := os.Stat(lock); err == nil {
		t.Error("lock left behind")
	}
}

// A run killed while it held the keywords lock leaves the lock file behind
// with no flock on it; the next run takes it over after a second instead of
// waiting out keywordsLockStale.
func TestOrphanedKeywordsLockIsTakenOver(t *testing.T) {
	s, root := newSink(t, Options{})
	lock := filepath.Join(root, "dovecot-keywords.lock")
	os.WriteFile(lock, []byte("0 Half\n"), 0o600)
	recent := time.Now().Add(-2 * keywordsLockOrphaned)
	os.Chtimes(lock, recent, recent)
	start := time.Now()
	put(t, s, transfer.Message{Folder: "INBOX", ID: "1", Flags: []string{"Todo"}}, "Subject: x\n\n")
	if d := time.Since(start); d > keywordsLockWait/2 {
		t.Errorf("Put waited %s for an orphaned lock", d)
	}
	data, err := os.ReadFile(filepath.Join(root, "dovecot-keywords"))
	if err != nil || string(data) != "0 Todo\n" {
		t.Fatalf("dovecot-keywords = %q, %v", data, err)
	}
}

// A lock another live mailferry holds (it has an flock on it) is waited for,
// however old its file looks, and the keywords both wrote survive.
func TestHeldKeywordsLockIsWaitedFor(t *testing.T) {
	s, root := newSink(t, Options{})
	lockPath := filepath.Join(root, "dovecot-keywords.lock")
	lock, err := takeLock(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-10 * keywordsLockOrphaned)
	os.Chtimes(lockPath, old, old)
	released := make(chan struct{})
	go func() {
		time.Sleep(1500 * time.Millisecond)
		lock.Write([]byte("0 Other\n"))
		lock.Close()
		os.Rename(lockPath, filepath.Join(root, "dovecot-keywords"))
		close(released)
	}()
	put(t, s, transfer.Message{Folder: "INBOX", ID: "1", Flags: []string{"Todo"}}, "Subject: x\n\n")
	select {
	case <-released:
	default:
		t.Fatal("Put broke a lock that a live writer held")
	}
	data, err := os.ReadFile(filepath.Join(root, "dovecot-keywords"))
	if err != nil || string(data) != "0 Other\n1 Todo\n" {
		t.Fatalf("dovecot-keywords = %q, %v", data, err)
	}
}

// failingReader yields some bytes, then an error.
// failingBody is a Body whose reads fail with err past its data.
type failingBody struct {
	data []byte
	size int64
	err  error
}

func (b *failingBody) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b.data)) {
		return 0, b.err
	}
	n := copy(p, b.data[off:])
	if n < len(p) {
		return n, b.err
	}
	return n, nil
}

func (b *failingBody) Size() int64 { return b.size }

// assertEmpty checks that no message file is in tmp/, new/ or cur/.
func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	for _, sub := range []string{"tmp", "new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue
		}
		if len(entries) != 0 {
			t.Errorf("%s/%s holds %d files after a failed Put", dir, sub, len(entries))
		}
	}
}

func TestPutFailureLeavesNothing(t *testing.T) {
	s, root := newSink(t, Options{})

	// The body cannot be read to its end: its error and class come back.
	srcErr := transfer.TemporaryError(errors.New("connection reset"))
	err := s.Put(ctx, transfer.Message{Folder: "INBOX", ID: "r1", Size: 100000}, &failingBody{data: bytes.Repeat([]byte("x"), 70000), size: 100000, err: srcErr})
	if !errors.Is(err, srcErr) || transfer.ClassOf(err) != transfer.Temporary {
		t.Errorf("Put with a broken reader = %v (%v)", err, transfer.ClassOf(err))
	}
	assertEmpty(t, root)

	// The body is shorter than announced.
	err = s.Put(ctx, transfer.Message{Folder: "INBOX", ID: "r2", Size: 100}, strings.NewReader("Subject: short\n\n"))
	if err == nil || !strings.Contains(err.Error(), "expected 100") {
		t.Errorf("Put of a short body = %v", err)
	}
	assertEmpty(t, root)

	// tmp/ cannot hold files (it was replaced by a file): the error names it.
	put(t, s, transfer.Message{Folder: "Broken", ID: "ok"}, "Subject: ok\n\n")
	dir := filepath.Join(root, ".Broken")
	os.Remove(filepath.Join(dir, "tmp"))
	os.WriteFile(filepath.Join(dir, "tmp"), nil, 0o600)
	before := files(t, filepath.Join(dir, "cur"))
	err = s.Put(ctx, transfer.Message{Folder: "Broken", ID: "w1", Size: 15}, strings.NewReader("Subject: w\n\nxx"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "tmp")) || transfer.ClassOf(err) != transfer.Fatal {
		t.Errorf("Put into a broken folder = %v (%v), want a fatal error naming %s", err, transfer.ClassOf(err), filepath.Join(dir, "tmp"))
	}
	if after := files(t, filepath.Join(dir, "cur")); !equal(after, before) {
		t.Errorf("cur/ changed after a failed Put: %q → %q", before, after)
	}
	if got := files(t, filepath.Join(dir, "new")); len(got) != 0 {
		t.Errorf("new/ holds %q", got)
	}

	// A cancelled context stops the copy and leaves nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(cctx, transfer.Message{Folder: "INBOX", ID: "c"}, strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context = %v", err)
	}
	assertEmpty(t, root)
}

func TestPutFolderNameRejected(t *testing.T) {
	s, _ := newSink(t, Options{Layout: "fs"})
	err := s.Put(ctx, transfer.Message{Folder: "x/cur", ID: "1"}, strings.NewReader(""))
	if err == nil || transfer.ClassOf(err) != transfer.PerMessage {
		t.Fatalf("Put into %q = %v, want a per-message error", "x/cur", err)
	}
}

func TestPutConcurrent(t *testing.T) {
	s, root := newSink(t, Options{})
	const workers, each = 8, 25
	folders := []string{"INBOX", "Shared", "Deep/Er"}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				body := fmt.Sprintf("Subject: %d-%d\r\nMessage-ID: <%d.%d@test>\r\n\r\nbody %d %d\r\n", w, i, w, i, w, i)
				m := transfer.Message{
					Folder: folders[(w+i)%len(folders)], ID: fmt.Sprintf("%d-%d", w, i),
					Flags: []string{`\Seen`, fmt.Sprintf("w%d", w%5), fmt.Sprintf("i%d", i%3)},
					Date:  time.Unix(1600000000+int64(w*100+i), 0), Size: int64(len(body)), CRLF: true,
				}
				errs <- s.Put(ctx, m, strings.NewReader(body))
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, rel := range []string{"", ".Shared", ".Deep.Er"} {
		dir := filepath.Join(root, rel)
		kwData, _ := os.ReadFile(filepath.Join(dir, "dovecot-keywords"))
		kw, skipped := formats.ParseMaildirKeywords(kwData)
		if len(skipped) != 0 {
			t.Errorf("%s: dovecot-keywords has bad lines %q", rel, skipped)
		}
		for _, name := range files(t, filepath.Join(dir, "cur")) {
			total++
			n, _ := formats.ParseMaildirName(name)
			data, _ := os.ReadFile(filepath.Join(dir, "cur", name))
			var w, i int
			fmt.Sscanf(string(data), "Subject: %d-%d", &w, &i)
			flags, unknown := n.FlagsWith(&kw)
			want := formats.NormalizeFlags([]string{`\Seen`, fmt.Sprintf("w%d", w%5), fmt.Sprintf("i%d", i%3)})
			if !equal(flags, want) || len(unknown) != 0 {
				t.Errorf("%s: flags %q, want %q", name, flags, want)
			}
			st, _ := os.Stat(filepath.Join(dir, "cur", name))
			if st.ModTime().Unix() != 1600000000+int64(w*100+i) {
				t.Errorf("%s: mtime %v", name, st.ModTime())
			}
		}
		if got := files(t, filepath.Join(dir, "tmp")); len(got) != 0 {
			t.Errorf("%s/tmp holds %q", rel, got)
		}
	}
	if total != workers*each {
		t.Errorf("%d messages stored, want %d", total, workers*each)
	}
}

func TestIndex(t *testing.T) {
	s, root := newSink(t, Options{})
	date := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	a := "Message-ID: <a@x>\r\nSubject: a\r\n\r\nbody\r\n"
	put(t, s, transfer.Message{Folder: "F", ID: "1", Date: date, CRLF: true}, a)
	put(t, s, transfer.Message{Folder: "F", ID: "2", Date: date, CRLF: true}, a)
	b := "Subject: no id\n\nbody\n"
	put(t, s, transfer.Message{Folder: "F", ID: "3", Date: date}, b)
	// A message another program put into new/, without S= or W=.
	foreign := filepath.Join(root, ".F", "new", "1577934245.12345_1.otherhost")
	c := "Subject: foreign\n\nline\nline\n"
	os.WriteFile(foreign, []byte(c), 0o600)

	idx, err := s.Index(ctx, "F")
	if err != nil {
		t.Fatal(err)
	}
	if idx.Identity == "" || idx.Identity != transfer.PathMailboxIdentity(filepath.Join(root, ".F")) {
		t.Errorf("identity %q", idx.Identity)
	}
	got := map[string]int{}
	var refs []string
	for _, m := range idx.Messages {
		got[fmt.Sprintf("%s %d", m.Key, m.VirtualSize)]++
		refs = append(refs, m.Ref)
	}
	want := map[string]int{}
	for msg, n := range map[string]int{a: 2, b: 1, c: 1} {
		want[fmt.Sprintf("%s %d", formats.IdentityKey([]byte(msg)), formats.VirtualSize([]byte(msg)))] += n
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Index = %v, want %v", got, want)
	}
	digests, err := s.Digests(ctx, "F", append(refs, "cur/gone", "../escape"))
	if err != nil || len(digests) != 4 {
		t.Fatalf("Digests = %v, %v", digests, err)
	}
	for _, msg := range []string{a, b, c} {
		found := false
		for _, d := range digests {
			found = found || d == formats.ContentDigest([]byte(msg))
		}
		if !found {
			t.Errorf("no digest for %q", msg)
		}
	}
	if got, err := s.Index(ctx, "Nothing/Here"); err != nil || len(got.Messages) != 0 {
		t.Errorf("Index of a missing folder = %v, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(root, ".Nothing.Here")); err == nil {
		t.Error("Index created a folder")
	}
}

func TestIndexLongHeader(t *testing.T) {
	s, _ := newSink(t, Options{})
	date := time.Unix(1700000000, 0)
	// A header longer than the bound: only its first 256 KiB count, as in
	// the transfer spool.
	body := "Subject: long\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 90)+"\n", 4000) + "\nbody\n"
	put(t, s, transfer.Message{Folder: "INBOX", ID: "l", Date: date}, body)
	idx, err := s.Index(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	want := formats.IdentityKey([]byte(body[:maxIndexHeader]))
	if len(idx.Messages) != 1 || idx.Messages[0].Key != want {
		t.Errorf("Index = %+v, want key %s", idx, want)
	}
}

func TestFolderForRole(t *testing.T) {
	s, _ := newSink(t, Options{})
	if name, ok, err := s.FolderForRole(ctx, `\Sent`); ok || err != nil {
		t.Fatalf("FolderForRole(\\Sent) in an empty Maildir = %q, %v, %v", name, ok, err)
	}
	put(t, s, transfer.Message{Folder: "Sent Messages", ID: "1"}, "Subject: s\n\n")
	put(t, s, transfer.Message{Folder: "Trash", ID: "1"}, "Subject: t\n\n")
	for role, want := range map[string]string{`\Sent`: "Sent Messages", `\trash`: "Trash", `\Junk`: "", `\Archive`: ""} {
		name, ok, err := s.FolderForRole(ctx, role)
		if err != nil || ok != (want != "") || name != want {
			t.Errorf("FolderForRole(%s) = %q, %v, %v; want %q", role, name, ok, err, want)
		}
	}
}

func TestWriteBodyCountsStreamedCR(t *testing.T) {
	// A CR at the end of one read and LF at the start of the next is one
	// CRLF pair.
	s, root := newSink(t, Options{})
	r := io.MultiReader(strings.NewReader("Subject: split\r"), strings.NewReader("\n\r\nbody\r"), strings.NewReader("\n"))
	f, err := s.folder("INBOX", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.deliver(ctx, f, transfer.Message{Folder: "INBOX", ID: "s", Size: 24, CRLF: true}, r, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	n := onlyMessage(t, root)
	data, _ := os.ReadFile(filepath.Join(root, "cur", files(t, filepath.Join(root, "cur"))[0]))
	if string(data) != "Subject: split\n\nbody\n" || n.Size != int64(len(data)) || n.WireSize != 24 {
		t.Errorf("stored %q as %+v", data, n)
	}
}
