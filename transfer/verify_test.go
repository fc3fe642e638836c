package transfer_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/transfer"
	"github.com/mailferry/mailferry/transfer/transfertest"
)

var verifyDate = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

// verifyBody is a small LF message numbered i.
func verifyBody(i int) string {
	return fmt.Sprintf("From: a@example.com\nSubject: message %d\nMessage-ID: <%d@verify.example>\n\nbody %d\nsecond line\n", i, i, i)
}

// store builds a MemSource; each message is folder, flags, date offset in
// seconds and body.
type storeMsg struct {
	folder string
	flags  []string
	date   time.Time
	body   string
	crlf   bool
}

func memStore(msgs ...storeMsg) *transfertest.MemSource {
	s := transfertest.NewMemSource()
	for _, m := range msgs {
		s.Add(transfer.Message{Folder: m.folder, Flags: m.flags, Date: m.date, CRLF: m.crlf}, []byte(m.body))
	}
	return s
}

func inbox(i int) storeMsg {
	return storeMsg{folder: "INBOX", flags: []string{`\Seen`}, date: verifyDate.Add(time.Duration(i) * time.Hour), body: verifyBody(i)}
}

func verify(t *testing.T, src, dst transfer.Source, opts transfer.VerifyOptions) transfer.VerifyResult {
	t.Helper()
	opts.RetryDelay = time.Millisecond
	res, err := transfer.Verify(context.Background(), src, dst, opts)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func kinds(res transfer.VerifyResult) []string {
	var out []string
	for _, d := range res.Differences {
		out = append(out, fmt.Sprintf("%s %s/%s→%s/%s", d.Kind, d.Folder, d.ID, d.DestFolder, d.DestID))
	}
	return out
}

func TestVerify(t *testing.T) {
	three := []storeMsg{inbox(1), inbox(2), inbox(3)}
	with := func(ms []storeMsg, i int, change func(*storeMsg)) []storeMsg {
		out := slices.Clone(ms)
		change(&out[i])
		return out
	}
	tests := []struct {
		name     string
		src, dst []storeMsg
		checked  int
		missing  int
		flags    int
		dates    int
		extra    int
		diffs    []string
	}{
		{name: "identical", src: three, dst: three, checked: 3},
		{name: "one missing", src: three, dst: three[:2], checked: 3, missing: 1,
			diffs: []string{"missing INBOX/3→INBOX/"}},
		{name: "flag changed", src: three, dst: with(three, 1, func(m *storeMsg) { m.flags = []string{`\Seen`, `\Flagged`} }),
			checked: 3, flags: 1, diffs: []string{"flags INBOX/2→INBOX/2"}},
		{name: "flags compared normalised, \\Recent ignored", src: three,
			dst:     with(three, 0, func(m *storeMsg) { m.flags = []string{`\SEEN`, `\Recent`, `\seen`} }),
			checked: 3},
		{name: "date changed", src: three, dst: with(three, 2, func(m *storeMsg) { m.date = m.date.Add(time.Minute) }),
			checked: 3, dates: 1, diffs: []string{"date INBOX/3→INBOX/3"}},
		{name: "date compared to the second, any zone", src: three,
			dst: with(three, 2, func(m *storeMsg) {
				m.date = m.date.Add(300 * time.Millisecond).In(time.FixedZone("x", 3600))
			}), checked: 3},
		{name: "unknown source date is not compared", src: with(three, 0, func(m *storeMsg) { m.date = time.Time{} }),
			dst: three, checked: 3},
		{name: "LF archive equals CRLF server", src: three,
			dst: []storeMsg{crlf(three[0]), crlf(three[1]), crlf(three[2])}, checked: 3},
		{name: "CRLF source equals LF archive", src: []storeMsg{crlf(three[0]), crlf(three[1])}, dst: three[:2], checked: 2},
		{name: "changed content is missing", src: three,
			dst:     with(three, 0, func(m *storeMsg) { m.body = strings.Replace(m.body, "body", "bodY", 1) }),
			checked: 3, missing: 1, extra: 1, diffs: []string{"missing INBOX/1→INBOX/", "extra /→INBOX/1"}},
		{name: "extra is reported", src: three[:2], dst: three, checked: 2, extra: 1,
			diffs: []string{"extra /→INBOX/3"}},
		{name: "identical copies are a multiset: 2 in source, 1 in dest", src: []storeMsg{inbox(1), inbox(1)},
			dst: []storeMsg{inbox(1)}, checked: 2, missing: 1, diffs: []string{"missing INBOX/2→INBOX/"}},
		{name: "identical copies pair by flags", src: []storeMsg{inbox(1), with([]storeMsg{inbox(1)}, 0, func(m *storeMsg) { m.flags = nil })[0]},
			dst: []storeMsg{with([]storeMsg{inbox(1)}, 0, func(m *storeMsg) { m.flags = nil })[0], inbox(1)}, checked: 2},
		{name: "missing folder", src: []storeMsg{inbox(1), {folder: "Archive", date: verifyDate, body: verifyBody(9)}},
			dst: []storeMsg{inbox(1)}, checked: 2, missing: 1, diffs: []string{"missing Archive/→Archive/"}},
		{name: "message in another folder is missing", src: []storeMsg{{folder: "A", date: verifyDate, body: verifyBody(1)}, {folder: "B", date: verifyDate, body: verifyBody(2)}},
			dst:     []storeMsg{{folder: "A", date: verifyDate, body: verifyBody(2)}, {folder: "B", date: verifyDate, body: verifyBody(1)}},
			checked: 2, missing: 2, extra: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := verify(t, memStore(tc.src...), memStore(tc.dst...), transfer.VerifyOptions{})
			if res.Checked != tc.checked || res.Missing != tc.missing || res.FlagDiffs != tc.flags || res.DateDiffs != tc.dates || res.Extra != tc.extra {
				t.Errorf("checked %d missing %d flags %d dates %d extra %d, want %d %d %d %d %d\n%q",
					res.Checked, res.Missing, res.FlagDiffs, res.DateDiffs, res.Extra,
					tc.checked, tc.missing, tc.flags, tc.dates, tc.extra, kinds(res))
			}
			if tc.diffs != nil && !slices.Equal(kinds(res), tc.diffs) {
				t.Errorf("differences %q, want %q", kinds(res), tc.diffs)
			}
			if want := tc.missing+tc.flags+tc.dates == 0; res.OK() != want {
				t.Errorf("OK() = %v, want %v", res.OK(), want)
			}
		})
	}
}

func crlf(m storeMsg) storeMsg {
	m.body = strings.ReplaceAll(m.body, "\n", "\r\n")
	m.crlf = true
	return m
}

func TestVerifyDifferenceDetails(t *testing.T) {
	src := memStore(inbox(1), inbox(2))
	changed := inbox(2)
	changed.flags = []string{`\Answered`}
	changed.date = changed.date.Add(time.Hour)
	dst := memStore(inbox(1), changed)
	var seen []transfer.Difference
	res := verify(t, src, dst, transfer.VerifyOptions{OnDifference: func(d transfer.Difference) { seen = append(seen, d) }})
	if len(seen) != 2 || len(res.Differences) != 2 {
		t.Fatalf("got %d differences through OnDifference and %d in the result, want 2: %q", len(seen), len(res.Differences), kinds(res))
	}
	f, d := res.Differences[0], res.Differences[1]
	if f.Kind != transfer.DiffFlags || !slices.Equal(f.SourceFlags, []string{`\Seen`}) || !slices.Equal(f.DestFlags, []string{`\Answered`}) {
		t.Errorf("flag difference %+v", f)
	}
	if f.Subject != "message 2" || f.MessageID != "2@verify.example" {
		t.Errorf("flag difference names subject %q, message id %q", f.Subject, f.MessageID)
	}
	if d.Kind != transfer.DiffDate || !d.SourceDate.Equal(inbox(2).date) || !d.DestDate.Equal(changed.date) {
		t.Errorf("date difference %+v", d)
	}
}

func TestVerifyMissingNamesMessage(t *testing.T) {
	res := verify(t, memStore(inbox(1), inbox(2)), memStore(inbox(1)), transfer.VerifyOptions{})
	if len(res.Differences) != 1 {
		t.Fatalf("differences %q", kinds(res))
	}
	d := res.Differences[0]
	if d.Kind != transfer.DiffMissing || d.ID != "2" || d.Subject != "message 2" || d.MessageID != "2@verify.example" ||
		!strings.Contains(d.Reason, "content differs or missing") {
		t.Errorf("missing difference %+v", d)
	}
}

// TestVerifyMissingFolderIsOneDifference: a destination folder that does not
// exist is one difference for the folder, counting its messages, and no
// body of it is read.
func TestVerifyMissingFolderIsOneDifference(t *testing.T) {
	var msgs []storeMsg
	for i := range 898 {
		msgs = append(msgs, storeMsg{folder: "Archive", date: verifyDate, body: verifyBody(i)})
	}
	src := memStore(append(msgs, inbox(1))...)
	var seen []transfer.Difference
	var folders []transfer.FolderCheck
	res := verify(t, src, memStore(inbox(1)), transfer.VerifyOptions{
		OnDifference: func(d transfer.Difference) { seen = append(seen, d) },
		OnFolder:     func(f transfer.FolderCheck) { folders = append(folders, f) },
	})
	if res.Checked != 899 || res.Missing != 898 || res.OK() {
		t.Errorf("checked %d missing %d OK %v, want 899 898 false", res.Checked, res.Missing, res.OK())
	}
	if len(seen) != 1 || len(res.Differences) != 1 {
		t.Fatalf("%d differences reported, %d in the result, want 1: %q", len(seen), len(res.Differences), kinds(res))
	}
	d := seen[0]
	if d.Kind != transfer.DiffMissing || d.Folder != "Archive" || d.ID != "" || d.Messages != 898 ||
		d.DestFolder != "Archive" || d.Reason != `destination folder "Archive" does not exist` {
		t.Errorf("difference %+v", d)
	}
	for _, f := range folders {
		if f.Folder == "Archive" && (f.Checked != 898 || f.Missing != 898) {
			t.Errorf("folder check %+v", f)
		}
	}
	// Only INBOX was fetched: one Fetch for its one message.
	if n := src.FetchCalls(); n != 1 {
		t.Errorf("%d source fetches, want 1 (INBOX only)", n)
	}
}

// TestVerifyToleratesServerRewrites: verify compares content as the
// identity rules do, so copies that servers rewrote when storing them count
// as present, and other changes do not.
func TestVerifyToleratesServerRewrites(t *testing.T) {
	orig := "From: a@example.com\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\nMessage-ID: <rw@verify.example>\r\n\r\nNUL:\x00 here\r\nlast line"
	rewrites := []struct {
		name, stored string
		crlf         bool
		present      bool
	}{
		{"LF store", strings.ReplaceAll(orig, "\r\n", "\n"), false, true},
		{"Dovecot NUL to 0x80", strings.Replace(orig, "\x00", "\x80", 1), true, true},
		{"Cyrus 8-bit header to X", strings.Replace(orig, "Gr\xc3\xbc\xc3\x9fe", "GrXXXXe", 1), true, true},
		{"Courier final CRLF", orig + "\r\n", true, true},
		{"Dovecot CR CR LF", strings.Replace(orig, "here\r\n", "here\r\r\n", 1), true, true},
		{"a changed body byte", strings.Replace(orig, "here", "hers", 1), true, false},
		{"an 8-bit body byte changed", strings.Replace(orig, "\x00", "X", 1), true, false},
		{"cut short", orig[:len(orig)-3], true, false},
	}
	for _, rw := range rewrites {
		t.Run(rw.name, func(t *testing.T) {
			src := memStore(storeMsg{folder: "INBOX", date: verifyDate, body: orig, crlf: true})
			dst := memStore(storeMsg{folder: "INBOX", date: verifyDate, body: rw.stored, crlf: rw.crlf})
			res := verify(t, src, dst, transfer.VerifyOptions{})
			if res.Checked != 1 || res.OK() != rw.present {
				t.Errorf("checked %d, OK %v, want 1, %v: %q", res.Checked, res.OK(), rw.present, kinds(res))
			}
			if !rw.present && (res.Missing != 1 || res.Extra != 1) {
				t.Errorf("missing %d extra %d, want 1 1: %q", res.Missing, res.Extra, kinds(res))
			}
		})
	}
}

func TestVerifyFolderMapping(t *testing.T) {
	sent := storeMsg{folder: "Sent Items", date: verifyDate, body: verifyBody(5)}
	arch := storeMsg{folder: "Archive/2019", date: verifyDate, body: verifyBody(6)}

	t.Run("role", func(t *testing.T) {
		src := memStore(inbox(1), sent)
		src.AddFolder("Sent Items", `\Sent`)
		dst := memStore(inbox(1), storeMsg{folder: "Sent", date: verifyDate, body: verifyBody(5)})
		dst.AddFolder("Sent", `\Sent`)
		dst.AddFolder("Sent Items", "")
		res := verify(t, src, dst, transfer.VerifyOptions{})
		if res.Checked != 2 || !res.OK() || res.Extra != 0 {
			t.Errorf("role mapping: %+v %q", res, kinds(res))
		}
	})
	t.Run("role by common name", func(t *testing.T) {
		src := memStore(sent)
		src.AddFolder("Sent Items", `\Sent`)
		dst := memStore(storeMsg{folder: "Sent", date: verifyDate, body: verifyBody(5)})
		res := verify(t, src, dst, transfer.VerifyOptions{})
		if res.Checked != 1 || !res.OK() {
			t.Errorf("role by name: %q", kinds(res))
		}
	})
	t.Run("map", func(t *testing.T) {
		src := memStore(arch)
		dst := memStore(storeMsg{folder: "Old/2019", date: verifyDate, body: verifyBody(6)})
		res := verify(t, src, dst, transfer.VerifyOptions{Map: []transfer.FolderMapping{{Old: "Archive", New: "Old"}}})
		if res.Checked != 1 || !res.OK() {
			t.Errorf("map: %q", kinds(res))
		}
	})
	t.Run("flatten", func(t *testing.T) {
		src := memStore(inbox(1), sent, arch, arch)
		dst := memStore(inbox(1), storeMsg{folder: "INBOX", date: verifyDate, body: verifyBody(5)},
			storeMsg{folder: "INBOX", date: verifyDate, body: verifyBody(6)})
		res := verify(t, src, dst, transfer.VerifyOptions{FlattenTo: "INBOX"})
		if res.Checked != 4 || res.Missing != 1 || res.Extra != 0 {
			t.Errorf("flatten: checked %d missing %d extra %d: %q", res.Checked, res.Missing, res.Extra, kinds(res))
		}
	})
	t.Run("include and filters", func(t *testing.T) {
		old := inbox(1)
		old.date = verifyDate.AddDate(-5, 0, 0)
		big := inbox(3)
		big.body += strings.Repeat("x", 5000)
		src := memStore(old, inbox(2), big, sent)
		dst := memStore(inbox(2))
		res := verify(t, src, dst, transfer.VerifyOptions{
			Include: []*regexp.Regexp{regexp.MustCompile("^INBOX$")},
			Since:   verifyDate.AddDate(-1, 0, 0),
			MaxSize: 1000,
		})
		if res.Checked != 1 || !res.OK() {
			t.Errorf("filters: checked %d: %q", res.Checked, kinds(res))
		}
	})
}

func TestVerifyUnreadableAndFlakySource(t *testing.T) {
	src := memStore(inbox(1), inbox(2), inbox(3), inbox(4))
	src.Unreadable = map[string]bool{"2": true}
	src.Vanished = map[string]bool{"3": true}
	src.CutAfter, src.CutTimes = 1, 2
	dst := memStore(inbox(1), inbox(2), inbox(3), inbox(4))
	dst.Drop = map[string]int{"4": 1}
	var warnings []string
	res, err := transfer.Verify(context.Background(), src, dst, transfer.VerifyOptions{RetryDelay: time.Millisecond,
		Warn: func(s string) { warnings = append(warnings, s) }})
	if err != nil {
		t.Fatal(err)
	}
	// 2 and 3 cannot be proven present; the cut stream and the silently
	// dropped destination message were fetched again.
	if res.Checked != 2 || res.Missing != 2 || res.Extra != 2 {
		t.Errorf("checked %d missing %d extra %d, want 2 2 2: %q", res.Checked, res.Missing, res.Extra, kinds(res))
	}
	for _, d := range res.Differences {
		if d.Kind == transfer.DiffMissing && !strings.Contains(d.Reason, "could not be read from the source") {
			t.Errorf("missing %s: reason %q", d.ID, d.Reason)
		}
	}
	if len(warnings) == 0 {
		t.Error("no warning about the retried errors")
	}
}

func TestVerifyConnectionErrorStops(t *testing.T) {
	src := memStore(inbox(1), inbox(2))
	src.CutAfter, src.CutTimes = 0, 100
	_, err := transfer.Verify(context.Background(), src, memStore(inbox(1)), transfer.VerifyOptions{Retries: 2, RetryDelay: time.Millisecond})
	if err == nil || transfer.ClassOf(err) != transfer.Temporary {
		t.Fatalf("err = %v, want the temporary error after retries", err)
	}
}

func TestVerifyManyMessagesInChunks(t *testing.T) {
	var msgs []storeMsg
	for i := range 600 {
		msgs = append(msgs, inbox(i))
	}
	src := memStore(msgs...)
	dst := memStore(msgs[:599]...)
	res := verify(t, src, dst, transfer.VerifyOptions{ChunkSize: 100})
	if res.Checked != 600 || res.Missing != 1 || src.FetchCalls() != 6 {
		t.Errorf("checked %d missing %d in %d fetches", res.Checked, res.Missing, src.FetchCalls())
	}
}

// FuzzVerifyBody: any body verifies against itself and against its CRLF
// form, and the header text reported for it is printable.
func FuzzVerifyBody(f *testing.F) {
	f.Add([]byte(verifyBody(1)))
	f.Add([]byte("Subject: =?utf-8?q?caf=C3=A9?=\r\n\tcontinued\x1b[31m\r\n\r\nx"))
	f.Add([]byte("no header at all"))
	f.Add([]byte("Subject: a\r\r\nMessage-ID: <\x00>\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		src := transfertest.NewMemSource()
		src.Add(transfer.Message{Folder: "INBOX", Date: verifyDate}, body)
		src.Add(transfer.Message{Folder: "INBOX", Date: verifyDate}, []byte("other"))
		dst := transfertest.NewMemSource()
		dst.Add(transfer.Message{Folder: "INBOX", Date: verifyDate, CRLF: true}, []byte(strings.ReplaceAll(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n", "\r\n")))
		res, err := transfer.Verify(context.Background(), src, dst, transfer.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Checked != 2 || res.Missing > 1 {
			t.Fatalf("checked %d missing %d: %q", res.Checked, res.Missing, kinds(res))
		}
		for _, d := range res.Differences {
			for _, s := range []string{d.Subject, d.MessageID} {
				if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
					t.Errorf("header text %q holds control characters", s)
				}
			}
		}
	})
}
