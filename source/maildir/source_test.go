package maildir_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/formats"
	sinkmd "github.com/mailferry/mailferry/sink/maildir"
	"github.com/mailferry/mailferry/source/maildir"
	"github.com/mailferry/mailferry/transfer"
)

var ctx = context.Background()

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	noCur := filepath.Join(dir, "nocur")
	os.MkdirAll(filepath.Join(noCur, "new"), 0o700)
	for _, tc := range []struct{ path, says string }{
		{filepath.Join(dir, "missing"), "does not exist"},
		{file, "not a directory"},
		{noCur, "cur/, tmp/ missing"},
	} {
		_, err := maildir.Open(tc.path, maildir.Options{})
		if err == nil || transfer.ClassOf(err) != transfer.Fatal || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Open(%s) = %v; want a fatal error naming the path and saying %q", tc.path, err, tc.says)
		}
	}
}

// stored is a message as it should read back.
type stored struct {
	folder string
	flags  []string
	date   time.Time
	body   string
}

// readAll lists and fetches every folder of src.
func readAll(t *testing.T, src *maildir.Source) map[string][]stored {
	t.Helper()
	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]stored{}
	for _, f := range folders {
		msgs, err := src.List(ctx, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Messages != len(msgs) {
			t.Errorf("folder %q: Folders says %d messages, List gives %d", f.Name, f.Messages, len(msgs))
		}
		listed := map[string]transfer.Message{}
		for _, m := range msgs {
			listed[m.ID] = m
		}
		out[f.Name] = []stored{}
		err = src.Fetch(ctx, f.Name, msgs, func(m transfer.Message, r io.Reader) error {
			data, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			if int64(len(data)) != m.Size || m.CRLF || m.Folder != f.Name {
				t.Errorf("fetched %s: %d bytes, Size %d, CRLF %v, folder %q", m.ID, len(data), m.Size, m.CRLF, m.Folder)
			}
			if l := listed[m.ID]; l.Size != m.Size || !l.Date.Equal(m.Date) || !equal(l.Flags, m.Flags) {
				t.Errorf("fetched %s as %+v, listed as %+v", m.ID, m, l)
			}
			out[f.Name] = append(out[f.Name], stored{f.Name, m.Flags, m.Date, string(data)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, list := range out {
		sort.Slice(list, func(i, j int) bool { return list[i].body < list[j].body })
	}
	return out
}

func equal(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func TestSinkSourceRoundTrip(t *testing.T) {
	for _, layout := range []string{"", "fs"} {
		t.Run("layout="+layout, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "Maildir")
			sink, err := sinkmd.New(root, sinkmd.Options{Layout: layout})
			if err != nil {
				t.Fatal(err)
			}
			d1 := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
			d2 := time.Date(2024, 12, 31, 23, 59, 59, 0, time.FixedZone("x", 3600))
			in := []struct {
				m    transfer.Message
				body string
				want string
			}{
				{transfer.Message{Folder: "INBOX", Flags: []string{`\Seen`, `\Answered`}, Date: d1, CRLF: true}, "Subject: crlf\r\n\r\nbody\r\n", "Subject: crlf\n\nbody\n"},
				{transfer.Message{Folder: "INBOX", Flags: nil, Date: d2}, "Subject: mixed\r\n\nline\rx\r\n", "Subject: mixed\r\n\nline\rx\r\n"},
				{transfer.Message{Folder: "Archive/2019", Flags: []string{"$Forwarded", "Work", `\Flagged`}, Date: d1}, "Subject: nul\n\n\x00\x01\xff", "Subject: nul\n\n\x00\x01\xff"},
				{transfer.Message{Folder: "Archive/2019", Flags: []string{`\Draft`, `\Deleted`, "$Label1"}, Date: d2}, "Subject: no final newline\n\nend", "Subject: no final newline\n\nend"},
				{transfer.Message{Folder: "a.b", Flags: []string{"Work"}, Date: d1, CRLF: true}, "Subject: dot\r\n\r\n", "Subject: dot\n\n"},
				{transfer.Message{Folder: "Entwürfe/台北", Flags: []string{`\Seen`}, Date: d2}, "Subject: utf\n\n", "Subject: utf\n\n"},
				{transfer.Message{Folder: "Empty", Date: d1}, "", ""},
			}
			for i, c := range in {
				c.m.ID = fmt.Sprint(i)
				c.m.Size = int64(len(c.body))
				if err := sink.Put(ctx, c.m, strings.NewReader(c.body)); err != nil {
					t.Fatal(err)
				}
			}
			if err := sink.Flush(ctx); err != nil { // the sink's messages are in cur/ once flushed
				t.Fatal(err)
			}
			src, err := maildir.Open(root, maildir.Options{Layout: layout})
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, src)
			want := map[string][]stored{}
			for _, c := range in {
				want[c.m.Folder] = append(want[c.m.Folder], stored{c.m.Folder, formats.NormalizeFlags(c.m.Flags), c.m.Date, c.want})
			}
			if layout == "fs" {
				want["Entwürfe"] = []stored{} // a plain parent directory, not a Maildir
				delete(want, "Entwürfe")
			}
			for _, list := range want {
				sort.Slice(list, func(i, j int) bool { return list[i].body < list[j].body })
			}
			if len(got) != len(want) {
				t.Errorf("folders %v, want %v", keys(got), keys(want))
			}
			for folder, list := range want {
				g := got[folder]
				if len(g) != len(list) {
					t.Errorf("folder %q: %d messages, want %d", folder, len(g), len(list))
					continue
				}
				for i := range list {
					if g[i].body != list[i].body || !equal(g[i].flags, list[i].flags) || !g[i].date.Equal(list[i].date) {
						t.Errorf("folder %q: got %+v, want %+v", folder, g[i], list[i])
					}
				}
			}
		})
	}
}

func keys(m map[string][]stored) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// writeFile creates a file with an mtime.
func writeFile(t *testing.T, path, data string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, mtime, mtime)
}

// foreignMaildir builds a Maildir as Dovecot and other programs leave it.
func foreignMaildir(t *testing.T) string {
	root := filepath.Join(t.TempDir(), "Maildir")
	d := time.Unix(1700000000, 0)
	for _, sub := range []string{"cur", "new", "tmp", `.Foo\2ebar/cur`, ".Foo\\2ebar/new", ".Sent/cur", ".NotAMaildir", ".INBOX/cur", ".Bad&Jjo!-x/cur"} {
		os.MkdirAll(filepath.Join(root, sub), 0o700)
	}
	writeFile(t, filepath.Join(root, "new", "1700000000.M1P2.host"), "Subject: new\n\n", d)
	writeFile(t, filepath.Join(root, "cur", "1700000001.M1P2.host,S=15,W=17:2,FSa"), "Subject: cur\n\n", d.Add(time.Second))
	writeFile(t, filepath.Join(root, "cur", "1700000002.12_3.host;2,RZb"), "Subject: semi\n\n", d.Add(2*time.Second))
	writeFile(t, filepath.Join(root, "cur", ".nfs000123"), "not a message", d)
	writeFile(t, filepath.Join(root, "tmp", "1700000003.M1P2.host"), "Subject: partial", d)
	writeFile(t, filepath.Join(root, "dovecot-keywords"), "0 $Forwarded\n", d)
	for _, f := range []string{"dovecot-uidlist", "dovecot.index", "dovecot.index.log", "dovecot-uidvalidity", "subscriptions", "mailferry.state", "dovecot-keywords.lock"} {
		writeFile(t, filepath.Join(root, f), "x\n", d)
	}
	writeFile(t, filepath.Join(root, `.Foo\2ebar`, "maildirfolder"), "", d)
	writeFile(t, filepath.Join(root, `.Foo\2ebar`, "cur", "1600000000.M5P6.h,S=9:2,"), "Subject:\n", time.Unix(1600000000, 0))
	return root
}

func TestForeignMaildir(t *testing.T) {
	root := foreignMaildir(t)
	var warnings []string
	src, err := maildir.Open(root, maildir.Options{Warn: func(w string) { warnings = append(warnings, w) }})
	if err != nil {
		t.Fatal(err)
	}
	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range folders {
		names = append(names, fmt.Sprintf("%s:%d:%d", f.Name, f.Messages, f.Bytes))
	}
	if want := []string{"Bad&Jjo!-x:0:0", "Foo.bar:1:9", "INBOX:3:44", "Sent:0:0"}; !equal(names, want) {
		t.Errorf("Folders = %q, want %q", names, want)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), `".INBOX"`) {
		t.Errorf("no warning about .INBOX: %q", warnings)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "skipping directory .NotAMaildir: it is not a Maildir") {
		t.Errorf("no warning about .NotAMaildir: %q", warnings)
	}
	msgs, err := src.List(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, fmt.Sprintf("%s %q %d %d", m.ID, m.Flags, m.Date.Unix(), m.Size))
	}
	want := []string{
		`1700000000.M1P2.host [] 1700000000 14`,
		`1700000001.M1P2.host,S=15,W=17 ["$Forwarded" "\\Flagged" "\\Seen"] 1700000001 14`,
		`1700000002.12_3.host ["\\Answered"] 1700000002 15`,
	}
	if !equal(got, want) {
		t.Errorf("List(INBOX) =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(strings.Join(warnings, "\n"), `"b"`) {
		t.Errorf("no warning about keyword letter b missing from dovecot-keywords: %q", warnings)
	}
}

// snapshot records every path below root with its size, mode and mtime.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = fmt.Sprintf("%d %v %d", info.Size(), info.Mode(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSourceChangesNothing(t *testing.T) {
	root := foreignMaildir(t)
	before := snapshot(t, root)
	src, err := maildir.Open(root, maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, src)
	after := snapshot(t, root)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		for p, v := range before {
			if after[p] != v {
				t.Errorf("%s: %s → %q", p, v, after[p])
			}
		}
		for p := range after {
			if _, ok := before[p]; !ok {
				t.Errorf("%s created", p)
			}
		}
	}
}

func TestFetchFindsRenamedAndReportsGone(t *testing.T) {
	root := foreignMaildir(t)
	src, err := maildir.Open(root, maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := src.List(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	// A mail program marks the new message seen (moving it to cur/) and
	// deletes another.
	os.Rename(filepath.Join(root, "new", "1700000000.M1P2.host"), filepath.Join(root, "cur", "1700000000.M1P2.host:2,S"))
	os.Remove(filepath.Join(root, "cur", "1700000002.12_3.host;2,RZb"))
	var fetched []string
	err = src.Fetch(ctx, "INBOX", msgs, func(m transfer.Message, r io.Reader) error {
		data, _ := io.ReadAll(r)
		fetched = append(fetched, fmt.Sprintf("%s %q %q", m.ID, m.Flags, data))
		return nil
	})
	want := []string{
		`1700000000.M1P2.host ["\\Seen"] "Subject: new\n\n"`,
		`1700000001.M1P2.host,S=15,W=17 ["$Forwarded" "\\Flagged" "\\Seen"] "Subject: cur\n\n"`,
	}
	if !equal(fetched, want) {
		t.Errorf("fetched\n%s\nwant\n%s", strings.Join(fetched, "\n"), strings.Join(want, "\n"))
	}
	var me *transfer.MessageError
	if !errors.As(err, &me) {
		t.Fatalf("Fetch error = %v, want a MessageError for the deleted message", err)
	}
	leaves := err.(interface{ Unwrap() []error }).Unwrap()
	if len(leaves) != 1 || transfer.ClassOf(leaves[0]) != transfer.PerMessage || me.Folder != "INBOX" || me.ID != "1700000002.12_3.host" {
		t.Errorf("Fetch error = %v (%d parts), want one per-message error for the deleted message", err, len(leaves))
	}
}

func TestFetchUnreadableIsPerMessage(t *testing.T) {
	root := foreignMaildir(t)
	src, _ := maildir.Open(root, maildir.Options{})
	msgs, err := src.List(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	// Put a directory where a message file was.
	p := filepath.Join(root, "cur", "1700000001.M1P2.host,S=15,W=17:2,FSa")
	os.Remove(p)
	os.Mkdir(p, 0o700)
	n := 0
	err = src.Fetch(ctx, "INBOX", msgs, func(m transfer.Message, r io.Reader) error { n++; return nil })
	var me *transfer.MessageError
	if n != 2 || !errors.As(err, &me) || transfer.ClassOf(err.(interface{ Unwrap() []error }).Unwrap()[0]) != transfer.PerMessage ||
		me.ID != "1700000001.M1P2.host,S=15,W=17" || !strings.Contains(err.Error(), p) {
		t.Errorf("Fetch delivered %d, error %v; want 2 delivered and a per-message error naming %s", n, err, p)
	}
}

func TestFetchStopsOnCallbackError(t *testing.T) {
	root := foreignMaildir(t)
	src, _ := maildir.Open(root, maildir.Options{})
	msgs, _ := src.List(ctx, "INBOX")
	stop := errors.New("stop")
	n := 0
	if err := src.Fetch(ctx, "INBOX", msgs, func(transfer.Message, io.Reader) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("Fetch = %v after %d calls, want the callback's error after 1", err, n)
	}
}

func TestDelete(t *testing.T) {
	root := foreignMaildir(t)
	src, _ := maildir.Open(root, maildir.Options{})
	msgs, _ := src.List(ctx, "INBOX")
	os.Remove(filepath.Join(root, "cur", "1700000002.12_3.host;2,RZb")) // already gone
	if err := src.Delete(ctx, "INBOX", msgs[1:]); err != nil {
		t.Fatal(err)
	}
	left, _ := src.List(ctx, "INBOX")
	if len(left) != 1 || left[0].ID != msgs[0].ID {
		t.Errorf("after Delete, INBOX holds %v", left)
	}
	if src.MaxFetchers() != 4 {
		t.Errorf("MaxFetchers = %d", src.MaxFetchers())
	}
}

// TestIndexMatchesSource checks that what the sink indexes for a folder is
// what the same messages give when read back through the source.
func TestIndexMatchesSource(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	sink, err := sinkmd.New(root, sinkmd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2022, 5, 6, 7, 8, 9, 500, time.UTC)
	for i, body := range []string{
		"Message-ID: <1@x>\r\nSubject: a\r\n\r\nbody\r\n",
		"Message-ID: <1@x>\r\nSubject: a\r\n\r\nbody\r\n",
		"Subject: no id\r\nStatus: RO\r\n\r\nx\r\n",
		"Subject: lf\n\nx\n",
	} {
		m := transfer.Message{Folder: "Box", ID: fmt.Sprint(i), Date: date, Size: int64(len(body)), CRLF: strings.Contains(body, "\r\n")}
		if err := sink.Put(ctx, m, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// And one dropped in by another program, without sizes in its name.
	writeFile(t, filepath.Join(root, ".Box", "new", "1652000000.99_1.elsewhere"), "Subject: other\n\n", date)

	idx, err := sink.Index(ctx, "Box")
	if err != nil {
		t.Fatal(err)
	}
	refs := make([]string, len(idx.Messages))
	for i, m := range idx.Messages {
		refs[i] = m.Ref
	}
	digests, err := sink.Digests(ctx, "Box", refs)
	if err != nil {
		t.Fatal(err)
	}
	fromSink := map[string]int{}
	for _, m := range idx.Messages {
		fromSink[fmt.Sprintf("%s %d %s", m.Key, m.VirtualSize, digests[m.Ref])]++
	}
	src, _ := maildir.Open(root, maildir.Options{})
	msgs, _ := src.List(ctx, "Box")
	fromSource := map[string]int{}
	err = src.Fetch(ctx, "Box", msgs, func(m transfer.Message, r io.Reader) error {
		data, _ := io.ReadAll(r)
		fromSource[fmt.Sprintf("%s %d %s", formats.IdentityKey(data), formats.VirtualSize(data), formats.ContentDigest(data))]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(fromSink) != fmt.Sprint(fromSource) || len(fromSink) != 4 {
		t.Errorf("sink index %v, source gives %v", fromSink, fromSource)
	}
}

func TestListMissingFolderIsEmpty(t *testing.T) {
	root := foreignMaildir(t)
	src, _ := maildir.Open(root, maildir.Options{})
	msgs, err := src.List(ctx, "Does/Not/Exist")
	if err != nil || len(msgs) != 0 {
		t.Errorf("List of a missing folder = %v, %v", msgs, err)
	}
}

// TestEpochMtimeIsADate: a message file with mtime 0 arrived on
// 1970-01-01; that is its date, not "unknown".
func TestEpochMtimeIsADate(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(root, sub), 0o700)
	}
	writeFile(t, filepath.Join(root, "cur", "0.M1P2.host:2,S"), "Subject: epoch\n\nx\n", time.Unix(0, 0))
	src, err := maildir.Open(root, maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := src.List(ctx, "INBOX")
	if err != nil || len(msgs) != 1 || msgs[0].Date.IsZero() || msgs[0].Date.Unix() != 0 {
		t.Fatalf("List = %v, %v; want one message dated 1970-01-01", msgs, err)
	}
	var fetched time.Time
	err = src.Fetch(ctx, "INBOX", msgs, func(m transfer.Message, r io.Reader) error {
		fetched = m.Date
		return nil
	})
	if err != nil || fetched.IsZero() || fetched.Unix() != 0 {
		t.Fatalf("Fetch date %v, %v", fetched, err)
	}
}
