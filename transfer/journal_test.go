package transfer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func rec(id string) Record {
	return Record{Source: "src", Folder: "INBOX", ID: id, Key: "k" + id, Dest: "INBOX",
		Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
}

func openJournal(t *testing.T, path string) *Journal {
	t.Helper()
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func TestJournalCreatesHeaderAndReadsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "mailferry.state")
	j := openJournal(t, path)
	if err := j.Append(rec("1"), rec("2")); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 || lines[0] != `{"mailferry-state":1}` {
		t.Fatalf("file:\n%s", data)
	}
	j = openJournal(t, path)
	got, ok := j.Lookup("src", "INBOX", "2")
	if !ok || !reflect.DeepEqual(got, rec("2")) {
		t.Fatalf("Lookup = %+v, %v", got, ok)
	}
	if _, ok := j.Lookup("src", "INBOX", "3"); ok {
		t.Fatal("Lookup found a record never written")
	}
	if _, ok := j.Lookup("other", "INBOX", "1"); ok {
		t.Fatal("Lookup ignored the source key")
	}
	if n := j.FolderLen("src", "INBOX"); n != 2 {
		t.Fatalf("FolderLen = %d", n)
	}
}

func TestJournalDeletedAndConfirmedRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	j := openJournal(t, path)
	a, b := rec("1"), rec("2")
	b.Key = a.Key // identical copies
	if err := j.Append(a, b); err != nil {
		t.Fatal(err)
	}
	del := a
	del.Deleted = true
	del.Time = a.Time.Add(time.Hour) // a later time must not replace first seen
	if err := j.Append(del); err != nil {
		t.Fatal(err)
	}
	// A later record confirms b by content: the digest is added, the
	// first-seen time stays.
	conf := b
	conf.Digest = "d2"
	conf.Time = b.Time.Add(time.Hour)
	if err := j.Append(conf); err != nil {
		t.Fatal(err)
	}
	check := func(j *Journal) {
		t.Helper()
		if got, _ := j.Lookup("src", "INBOX", "2"); got.Digest != "d2" || !got.Time.Equal(b.Time) || got.Key != b.Key {
			t.Errorf("record after confirmation = %+v", got)
		}
		if n := j.FolderLen("src", "INBOX"); n != 2 {
			t.Errorf("FolderLen = %d, want 2 (a deletion is not a new message)", n)
		}
		got, _ := j.Lookup("src", "INBOX", "1")
		if !got.Deleted || !got.Time.Equal(a.Time) {
			t.Errorf("record after deletion = %+v", got)
		}
		if j.Len() != 2 {
			t.Errorf("Len = %d", j.Len())
		}
	}
	check(j)
	j.Close()
	check(openJournal(t, path))
}

func TestJournalTornLastLine(t *testing.T) {
	for name, tail := range map[string]string{
		"no newline":     `{"source":"src","folder":"INBOX","id":"3"`,
		"invalid JSON":   "{\"source\":\"src\",\x00\n",
		"valid, no LF":   `{"source":"src","folder":"INBOX","id":"3","fp":"x","dest":"INBOX","time":"2024-05-01T10:00:00Z"}`,
		"empty last one": "\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state")
			j := openJournal(t, path)
			if err := j.Append(rec("1"), rec("2")); err != nil {
				t.Fatal(err)
			}
			j.Close()
			good, _ := os.ReadFile(path)
			if err := os.WriteFile(path, append(good, tail...), 0o600); err != nil {
				t.Fatal(err)
			}
			j = openJournal(t, path)
			if j.Len() != 2 {
				t.Fatalf("Len = %d, want 2", j.Len())
			}
			if _, ok := j.Lookup("src", "INBOX", "3"); ok {
				t.Fatal("torn record was read")
			}
			if err := j.Append(rec("4")); err != nil {
				t.Fatal(err)
			}
			j.Close()
			data, _ := os.ReadFile(path)
			want := string(good) + mustLine(t, rec("4"))
			if string(data) != want {
				t.Fatalf("file after repair:\n%s\nwant:\n%s", data, want)
			}
		})
	}
}

func mustLine(t *testing.T, r Record) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "one")
	j := openJournal(t, path)
	if err := j.Append(r); err != nil {
		t.Fatal(err)
	}
	j.Close()
	data, _ := os.ReadFile(path)
	_, line, _ := strings.Cut(string(data), "\n")
	return line
}

func TestJournalTornHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(path, []byte(`{"mailferry-st`), 0o600); err != nil {
		t.Fatal(err)
	}
	j := openJournal(t, path)
	if err := j.Append(rec("1")); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j = openJournal(t, path)
	if j.Len() != 1 {
		t.Fatalf("Len = %d", j.Len())
	}
}

func TestJournalCorruptMiddleLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	j := openJournal(t, path)
	if err := j.Append(rec("1"), rec("2"), rec("3")); err != nil {
		t.Fatal(err)
	}
	j.Close()
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(data), "\n")
	lines[2] = "garbage\n" // line 3
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenJournal(path)
	if err == nil {
		t.Fatal("corrupt journal opened")
	}
	for _, want := range []string{path, "line 3", "removed safely"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// The file is left as it was for the user to look at.
	after, _ := os.ReadFile(path)
	if string(after) != strings.Join(lines, "") {
		t.Error("a corrupt journal was modified")
	}
}

func TestJournalRejectsForeignFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(path, []byte("hello\nworld\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenJournal(path)
	if err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "not a mailferry state file") {
		t.Fatalf("err = %v", err)
	}
	if err := os.WriteFile(path, []byte(`{"mailferry-state":7}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenJournal(path); err == nil || !strings.Contains(err.Error(), "version 7") {
		t.Fatalf("err = %v", err)
	}
}

func TestJournalLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	j := openJournal(t, path)
	_, err := OpenJournal(path)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second open: %v", err)
	}
	j.Close()
	j2, err := OpenJournal(path)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	j2.Close()
}

func TestJournalConcurrentAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	j := openJournal(t, path)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if err := j.Append(rec(fmt.Sprintf("%d-%d", g, i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if j.Len() != 400 {
		t.Fatalf("Len = %d", j.Len())
	}
	j.Close()
	j = openJournal(t, path)
	if j.Len() != 400 {
		t.Fatalf("Len after reopen = %d", j.Len())
	}
}

func TestJournalWriteFailureIsFatalAndSticky(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	j := openJournal(t, path)
	j.f.Close() // make the next write fail
	err := j.Append(rec("1"))
	if err == nil || ClassOf(err) != Fatal || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v (class %v)", err, ClassOf(err))
	}
	if _, ok := j.Lookup("src", "INBOX", "1"); ok {
		t.Fatal("a record that was not written is visible")
	}
	if err := j.Append(rec("2")); err == nil {
		t.Fatal("append after a failure succeeded")
	}
}

func TestJournalDoesNotOverwriteForeignFileWithoutNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("my precious notes"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenJournal(path); err == nil || !strings.Contains(err.Error(), "not a mailferry state file") {
		t.Fatalf("err = %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "my precious notes" {
		t.Fatalf("file changed: %q", data)
	}
}

// FuzzOpenJournal feeds arbitrary state files to OpenJournal: it must never
// panic, and a file it accepts must read back the same after the repair.
func FuzzOpenJournal(f *testing.F) {
	f.Add([]byte(`{"mailferry-state":1}` + "\n"))
	f.Add([]byte(`{"mailferry-state":1}` + "\n" + `{"source":"s","folder":"INBOX","id":"1","fp":"x","dest":"INBOX","time":"2024-05-01T10:00:00Z"}` + "\n"))
	f.Add([]byte(`{"mailferry-state":1}` + "\n" + `{"source":"s","folder":"INBOX","id":"1","fp":"x","dest":"INBOX","time":"2024-05-01T10:00:00Z","deleted":true}` + "\n{\"sou"))
	f.Add([]byte(`{"mailferry-st`))
	f.Add([]byte("garbage\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "state")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		j, err := OpenJournal(path)
		if err != nil {
			if after, _ := os.ReadFile(path); string(after) != string(data) {
				t.Fatal("a rejected file was modified")
			}
			return
		}
		n := j.Len()
		if err := j.Append(rec("fuzz-added")); err != nil {
			t.Fatal(err)
		}
		j.Close()
		after, _ := os.ReadFile(path)
		if !strings.HasPrefix(string(after), `{"mailferry-state":1}`+"\n") {
			t.Fatalf("no header after repair: %q", after)
		}
		j, err = OpenJournal(path)
		if err != nil {
			t.Fatalf("reopening a repaired file: %v", err)
		}
		defer j.Close()
		if j.Len() != n+1 && j.Len() != n {
			t.Fatalf("Len %d after reopen, was %d plus one", j.Len(), n)
		}
	})
}

// A folder record (a folder's state when it was copied whole) is kept
// apart from the message records and the last one of a folder wins, also
// after the file is read again.
func TestJournalFolderRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mailferry.state")
	j := openJournal(t, path)
	folderRec := func(state string, n int) Record {
		return Record{Source: "src", Folder: "INBOX", Dest: "INBOX", State: state, Count: n, Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	}
	if err := j.Append(rec("1"), folderRec("imap:1:2:1:7", 1), rec("2"), folderRec("imap:1:3:2:9", 2)); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openJournal(t, path)
	got, ok := j.FolderState("src", "INBOX")
	if !ok || got.State != "imap:1:3:2:9" || got.Count != 2 || got.Dest != "INBOX" {
		t.Errorf("FolderState = %+v, %v; want the last folder record", got, ok)
	}
	if j.Len() != 2 || j.FolderLen("src", "INBOX") != 2 || len(j.FolderRecords("src", "INBOX")) != 2 {
		t.Errorf("message records: Len %d, FolderLen %d; the folder records must not count", j.Len(), j.FolderLen("src", "INBOX"))
	}
	if _, ok := j.FolderState("src", "Other"); ok {
		t.Error("a folder record for a folder never recorded")
	}
}

// TestJournalIndexGivesRecordsBackExactly: the index keeps keys and digests
// as bytes, flag sets and names once, times in seconds; every record of a
// state file written by an earlier version (the fp field, records without
// flags, keys and digests of any form) reads back as it was written.
func TestJournalIndexGivesRecordsBackExactly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mailferry.state")
	const key, digest = "k0123456789abcdef01234567", "d0123456789abcdef0123456789abcdef"
	lines := []string{
		`{"mailferry-state":1}`,
		// Usual forms; flags of an older version (none kept).
		`{"source":"imaps://u@h","folder":"INBOX","id":"7.1","key":"` + key + `","digest":"` + digest + `","dest":"INBOX","time":"2024-05-01T10:00:00.123456789+02:00"}`,
		// The same flag set as the next record; no digest.
		`{"source":"imaps://u@h","folder":"INBOX","id":"7.2","key":"` + key + `","dest":"Archiv","time":"2024-05-02T10:00:00Z","flags":["\\Seen","work"],"copied":true}`,
		`{"source":"imaps://u@h","folder":"INBOX","id":"7.3","fp":"old","dest":"INBOX","time":"2024-05-03T10:00:00Z","flags":["\\Seen","work"]}`,
		// Other forms: upper-case hex, too short, another prefix; an empty flag set.
		`{"source":"imaps://u@h","folder":"Sent","id":"9.1","key":"K0123456789ABCDEF01234567","digest":"d12","dest":"Sent","time":"2024-05-04T10:00:00Z","flags":[]}`,
		`{"source":"imaps://u@h","folder":"Sent","id":"9.2","key":"x0123456789abcdef01234567","digest":"d0123456789abcdef0123456789abcdeF","dest":"Sent","time":"0001-01-01T00:00:00Z","flags":[],"deleted":true,"copy_deleted":true}`,
		// A later record: the digest learnt, the copy deleted, new flags; first seen stays.
		`{"source":"imaps://u@h","folder":"INBOX","id":"7.2","key":"` + key + `","digest":"` + digest + `","dest":"Archiv","time":"2025-01-01T00:00:00Z","flags":["\\Flagged"],"deleted":true}`,
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2024, 5, d, 10, 0, 0, 0, time.UTC) }
	want := map[string]Record{
		"INBOX/7.1": {Key: key, Digest: digest, Dest: "INBOX", Time: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)},
		"INBOX/7.2": {Key: key, Digest: digest, Dest: "Archiv", Time: day(2), Flags: []string{`\Flagged`}, Copied: true, Deleted: true},
		"INBOX/7.3": {Dest: "INBOX", Time: day(3), Flags: []string{`\Seen`, "work"}},
		"Sent/9.1":  {Key: "K0123456789ABCDEF01234567", Digest: "d12", Dest: "Sent", Time: day(4), Flags: []string{}},
		"Sent/9.2": {Key: "x0123456789abcdef01234567", Digest: "d0123456789abcdef0123456789abcdeF", Dest: "Sent",
			Flags: []string{}, Deleted: true, CopyDeleted: true},
	}
	j := openJournal(t, path)
	if j.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", j.Len(), len(want))
	}
	for where, w := range want {
		folder, id, _ := strings.Cut(where, "/")
		w.Source, w.Folder, w.ID = "imaps://u@h", folder, id
		got, ok := j.Lookup("imaps://u@h", folder, id)
		if !ok || !reflect.DeepEqual(got, w) {
			t.Errorf("Lookup(%s) = %+v, %v\nwant %+v", where, got, ok, w)
		}
	}
	// A record appended now reads back the same after a reopen.
	added := Record{Source: "imaps://u@h", Folder: "INBOX", ID: "7.4", Key: "k" + strings.Repeat("f", 24),
		Digest: "d" + strings.Repeat("0", 32), Dest: "INBOX", Time: day(5), Flags: []string{`\Seen`, "work"}, Copied: true}
	if err := j.Append(added); err != nil {
		t.Fatal(err)
	}
	if got, _ := j.Lookup("imaps://u@h", "INBOX", "7.4"); !reflect.DeepEqual(got, added) {
		t.Errorf("appended record reads back as %+v", got)
	}
	j.Close()
	j = openJournal(t, path)
	if got, _ := j.Lookup("imaps://u@h", "INBOX", "7.4"); !reflect.DeepEqual(got, added) {
		t.Errorf("appended record reads back after a reopen as %+v", got)
	}
}
