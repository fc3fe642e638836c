package mbox_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/mboxmeta"
	sinkmbox "github.com/mailferry/mailferry/sink/mbox"
	"github.com/mailferry/mailferry/transfer"
)

// countOf opens the archive at path and returns MessageCount of folder.
func countOf(t *testing.T, path, folder string) int {
	t.Helper()
	s, err := sinkmbox.New(path, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.MessageCount(ctx, folder)
	if err != nil {
		t.Fatalf("MessageCount(%q): %v", folder, err)
	}
	return n
}

// recordOf returns the committed record of the file rel in the meta
// directory dir.
func recordOf(t *testing.T, dir, rel string) (int, mboxmeta.Record) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, mboxmeta.CommittedFile))
	if err != nil {
		t.Fatal(err)
	}
	var tab mboxmeta.Table
	if err := json.Unmarshal(data, &tab); err != nil || tab.Files[rel] == nil {
		t.Fatalf("committed file %s: %v", data, err)
	}
	return tab.Version, *tab.Files[rel]
}

// countCorpus is n messages of about 2 KB each, so that the file is longer
// than the tail its record hashes.
func countCorpus(folder string, n int) []stored {
	var out []stored
	for i := range n {
		body := "Subject: message " + strings.Repeat("x", i) + "\n\n" + strings.Repeat("a line of text\n", 130)
		out = append(out, stored{folder, []string{`\Seen`}, time.Unix(1700000000+int64(i), 0).UTC(), []byte(body)})
	}
	return out
}

// The sink counts what it writes, so a re-run learns a folder's count from
// the record of the last flush; a file that is not as its record says (moved
// away, emptied, pruned by another program) is counted by reading it.
func TestMessageCount(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "archive")
	s, err := sinkmbox.New(dir, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.MessageCount(ctx, "Work"); err != nil || n != 0 {
		t.Fatalf("a folder without a file: %d, %v", n, err)
	}
	put(t, s, append(countCorpus("INBOX", 3), countCorpus("Work", 2)...), true)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	put(t, s, countCorpus("Work", 1), true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	inbox, work := filepath.Join(dir, "INBOX"), filepath.Join(dir, "Work")
	if n := countOf(t, dir, "INBOX"); n != 3 {
		t.Errorf("INBOX: %d messages, want 3", n)
	}
	if n := countOf(t, dir, "Work"); n != 3 {
		t.Errorf("Work: %d messages, want 3", n)
	}
	meta := mboxmeta.Dir(dir, false)
	if v, rec := recordOf(t, meta, "Work"); v != mboxmeta.TableVersion || rec.Messages != 3 || rec.Open {
		t.Errorf("Work's record: version %d, %+v", v, rec)
	}

	// A file as its record says is not read: a "From " line written over
	// the first message's body, before the hashed tail, is not counted.
	data, err := os.ReadFile(inbox)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("a line of text\na line of text\n"))
	fake := []byte("\n\nFrom x@y Sat Mar  9 17:04:05 2024\n")
	changed := bytes.Clone(data)
	copy(changed[i+len("a line of text\n")-1:], fake)
	if err := os.WriteFile(inbox, changed, 0o600); err != nil {
		t.Fatal(err)
	}
	if n := countOf(t, dir, "INBOX"); n != 3 {
		t.Errorf("INBOX with its record: %d messages, want the record's 3", n)
	}
	os.WriteFile(inbox, data, 0o600)

	// Another program removes the last message: read, 2.
	last := bytes.LastIndex(data, []byte("\nFrom "))
	os.WriteFile(inbox, data[:last+1], 0o600)
	if n := countOf(t, dir, "INBOX"); n != 2 {
		t.Errorf("INBOX pruned: %d messages, want 2", n)
	}
	// The count read is recorded when the sink closes: the next run does
	// not read the file.
	if _, rec := recordOf(t, meta, "INBOX"); rec.Messages != 2 || rec.Size != int64(last+1) {
		t.Errorf("the pruned INBOX's record: %+v", rec)
	}

	// Emptied, and moved away with a file of another program in its place.
	os.WriteFile(work, nil, 0o600)
	if n := countOf(t, dir, "Work"); n != 0 {
		t.Errorf("Work emptied: %d messages", n)
	}
	os.WriteFile(work, []byte("From alice@example.org Sat Mar  9 17:04:05 2024\nSubject: theirs\n\ny\n"), 0o600)
	if n := countOf(t, dir, "Work"); n != 1 {
		t.Errorf("Work replaced: %d messages, want 1", n)
	}
	os.Remove(work)
	if n := countOf(t, dir, "Work"); n != 0 {
		t.Errorf("Work removed: %d messages", n)
	}
}

// A record of the version before counts says nothing of the count: the
// file is read once, and the record then holds the count.
func TestMessageCountOldRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mbox")
	s, err := sinkmbox.New(path, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, countCorpus("INBOX", 4), false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	meta := mboxmeta.Dir(path, true)
	_, rec := recordOf(t, meta, "x.mbox")
	old := `{"version": 1, "files": {"x.mbox": {"size": ` + itoa(rec.Size) + `, "tail": "` + rec.Tail + `", "open": false, "from": ` + itoa(rec.From) + `}}}`
	if err := os.WriteFile(filepath.Join(meta, mboxmeta.CommittedFile), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := countOf(t, path, "INBOX"); n != 4 {
		t.Errorf("%d messages, want 4", n)
	}
	if v, rec := recordOf(t, meta, "x.mbox"); v != mboxmeta.TableVersion || rec.Messages != 4 {
		t.Errorf("record after the count: version %d, %+v", v, rec)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// A read-only sink (a dry run) reads an archive a killed run left bytes
// in without cutting them off or writing a record, answers for what was
// committed only, and takes no message.
func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mbox")
	s, err := sinkmbox.New(path, sinkmbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, countCorpus("INBOX", 2), false)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	meta := mboxmeta.Dir(path, true)
	record, _ := os.ReadFile(filepath.Join(meta, mboxmeta.CommittedFile))
	put(t, s, countCorpus("INBOX", 3)[2:], false)
	s.Close()
	// As a run killed after its first Flush leaves it: the record open.
	os.WriteFile(filepath.Join(meta, mboxmeta.CommittedFile), record, 0o600)
	before, _ := os.ReadFile(path)

	var warnings []string
	ro, err := sinkmbox.New(path, sinkmbox.Options{ReadOnly: true, Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ro.Index(ctx, "INBOX")
	if err != nil || len(idx.Messages) != 2 {
		t.Errorf("Index: %d messages, %v; want the 2 committed", len(idx.Messages), err)
	}
	if n, err := ro.MessageCount(ctx, "INBOX"); err != nil || n != 2 {
		t.Errorf("MessageCount: %d, %v; want 2", n, err)
	}
	m := countCorpus("INBOX", 1)[0]
	if err := ro.Put(ctx, transfer.Message{Folder: "INBOX", Date: m.Date, Size: int64(len(m.Body))}, bytes.NewReader(m.Body)); err == nil {
		t.Error("a read-only sink took a message")
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	rec, _ := os.ReadFile(filepath.Join(meta, mboxmeta.CommittedFile))
	if !bytes.Equal(after, before) || !bytes.Equal(rec, record) || len(warnings) != 1 || !strings.Contains(warnings[0], "not read as mail") {
		t.Errorf("file changed %v, record changed %v, warnings %q", !bytes.Equal(after, before), !bytes.Equal(rec, record), warnings)
	}
	if _, err := os.Stat(filepath.Join(meta, mboxmeta.TornDir)); !os.IsNotExist(err) {
		t.Errorf("torn bytes were saved: %v", err)
	}
}
