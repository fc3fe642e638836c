package formats

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// mboxCase is one message for the round-trip tests.
type mboxCase struct {
	name  string
	body  string
	flags []string
	date  time.Time
}

var d2024 = time.Date(2024, 3, 9, 17, 4, 5, 0, time.UTC)

func hostileMboxCases() []mboxCase {
	var longHeader strings.Builder
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&longHeader, "X-Line-%03d: value %d\n", i, i)
	}
	longHeader.WriteString("\nbody\n")
	return []mboxCase{
		{"plain", "Subject: hi\n\nhello\n", []string{`\Seen`}, d2024},
		{"from lines", "Subject: f\n\nFrom here\nFrom the start\n\nFrom me Mon Jan  1 00:00:00 2024\n", nil, d2024},
		{"quoted from lines", "Subject: q\n\n>From one\n>>From two\n>>>From three\n>From\n>Fro\n", nil, d2024},
		{"from first line", "From someone Mon Jan  1 00:00:00 2024\nSubject: x\n\nb\n", nil, d2024},
		{"no final newline", "Subject: n\n\nno newline at end", []string{`\Answered`}, d2024},
		{"no final newline from", "Subject: n\n\nFrom x", nil, d2024},
		{"no final newline quoted", "Subject: n\n\n>>From ", nil, d2024},
		{"ends with blank lines", "Subject: b\n\nbody\n\n\n", nil, d2024},
		{"crlf", "Subject: c\r\n\r\nline\r\nFrom crlf\r\n", []string{`\Flagged`}, d2024},
		{"mixed endings", "Subject: m\r\nX: y\n\r\nbare\rcr\nFrom z\r\n", nil, d2024},
		{"8-bit header", "Subject: Gr\xfc\xdfe \xe2\x82\xac\nFrom: J\xf6rg <j@x>\n\n\xff\xfe\n", nil, d2024},
		{"nul bytes", "Subject: n\x00ul\n\nbody\x00with\x00nuls\n\x00", nil, d2024},
		{"300-line header", longHeader.String(), nil, d2024},
		{"empty body", "Subject: e\n\n", nil, d2024},
		{"only headers", "Subject: h\nFrom: a@b", nil, d2024},
		{"only headers newline", "Subject: h\nFrom: a@b\n", nil, d2024},
		{"empty", "", nil, d2024},
		{"single newline", "\n", nil, d2024},
		{"blank lines only", "\n\n\n", nil, d2024},
		{"own store headers", "Status: RO\nX-Status: AF\nX-Keywords: junk\nContent-Length: 3\nX-Mozilla-Status: 0001\nX-Mailferry-Frame: 1 999\nSubject: s\n\nbody that is longer than three\n", []string{`\Seen`}, d2024},
		{"starts with status", "Status: O\n\n", nil, d2024},
		{"continuation first", " folded\nSubject: x\n\ny\n", nil, d2024},
		{"all flags", "Subject: a\n\nb\n", []string{`\Seen`, `\Answered`, `\Flagged`, `\Draft`, `\Deleted`, "$Forwarded", "work", "$Label1"}, d2024},
		{"return path", "Return-Path: <bounce@example.org>\nSubject: r\n\nx\n", nil, d2024},
		{"zero date", "Subject: z\nDate: Tue, 1 Jan 2019 10:00:00 +0000\n\nx\n", nil, time.Time{}},
		{"old date", "Subject: o\n\nx\n", nil, time.Date(1998, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"long line", "Subject: l\n\n" + strings.Repeat("x", 200000) + "\nFrom end\n", nil, d2024},
		{"long quote prefix", "Subject: l\n\n" + strings.Repeat(">", 70000) + "From deep\n", nil, d2024},
	}
}

func writeMbox(t testing.TB, cases []mboxCase) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewMboxWriter(&buf)
	for _, c := range cases {
		before := buf.Len()
		n, err := w.WriteMessageBytes(MboxEnvelope{Date: c.date, Flags: c.flags}, []byte(c.body))
		if err != nil {
			t.Fatalf("%s: write: %v", c.name, err)
		}
		if int(n) != buf.Len()-before {
			t.Fatalf("%s: WriteMessage reported %d bytes, wrote %d", c.name, n, buf.Len()-before)
		}
	}
	return buf.Bytes()
}

func readAllMbox(t testing.TB, file []byte) ([]*MboxMessage, [][]byte) {
	t.Helper()
	r := NewMboxReader(bytes.NewReader(file), int64(len(file)))
	var msgs []*MboxMessage
	var bodies [][]byte
	for {
		m, err := r.Next()
		if err == io.EOF {
			return msgs, bodies
		}
		if err != nil {
			t.Fatalf("Next after %d messages: %v", len(msgs), err)
		}
		b, err := io.ReadAll(m.Body())
		if err != nil {
			t.Fatalf("Body: %v", err)
		}
		msgs = append(msgs, m)
		bodies = append(bodies, b)
	}
}

func wantFlags(in []string) []string {
	keep, _ := SplitMboxFlags(in)
	if keep == nil {
		return []string{}
	}
	return keep
}

func TestMboxRoundTripHostile(t *testing.T) {
	cases := hostileMboxCases()
	file := writeMbox(t, cases)
	msgs, bodies := readAllMbox(t, file)
	if len(msgs) != len(cases) {
		t.Fatalf("read %d messages, wrote %d", len(msgs), len(cases))
	}
	var next int64
	for i, c := range cases {
		m := msgs[i]
		if want := mboxKept([]byte(c.body)); !bytes.Equal(bodies[i], want) {
			t.Errorf("%s: body differs:\n got %q\nwant %q", c.name, trunc(bodies[i]), trunc(want))
		}
		if m.Framed || m.Incomplete {
			t.Errorf("%s: Framed=%v Incomplete=%v", c.name, m.Framed, m.Incomplete)
		}
		if got := append([]string{}, m.Flags...); !reflect.DeepEqual(got, wantFlags(c.flags)) {
			t.Errorf("%s: flags %q, want %q", c.name, got, wantFlags(c.flags))
		}
		wantDate := c.date
		if wantDate.IsZero() {
			// No arrival time: the Date: header's.
			wantDate = time.Date(2019, 1, 1, 10, 0, 0, 0, time.UTC)
		}
		if !m.Date.Equal(wantDate) {
			t.Errorf("%s: date %v, want %v", c.name, m.Date, wantDate)
		}
		if m.Offset != next {
			t.Errorf("%s: offset %d, want %d", c.name, m.Offset, next)
		}
		next = m.Offset + m.Length
		if !bytes.HasPrefix(file[m.Offset:], []byte("From ")) {
			t.Errorf("%s: offset %d is not a From_ line", c.name, m.Offset)
		}
		// A source seeks to a listed offset and gets the same message.
		r := NewMboxReader(bytes.NewReader(file), int64(len(file)))
		r.SeekMessage(m.Offset)
		again, err := r.Next()
		if err != nil {
			t.Fatalf("%s: SeekMessage: %v", c.name, err)
		}
		b, _ := io.ReadAll(again.Body())
		if again.Length != m.Length || !bytes.Equal(b, bodies[i]) {
			t.Errorf("%s: seeking to offset %d gave a different message", c.name, m.Offset)
		}
	}
	if next != int64(len(file)) {
		t.Errorf("messages cover %d of %d bytes", next, len(file))
	}
	if msgs[23].Sender != "bounce@example.org" || msgs[0].Sender != "MAILER-DAEMON" {
		t.Errorf("senders %q, %q", msgs[23].Sender, msgs[0].Sender)
	}
}

// mboxKept is what an mbox file keeps of a message: everything but a
// missing final line feed, which it gains.
func mboxKept(body []byte) []byte {
	if len(body) > 0 && body[len(body)-1] != '\n' {
		return append(append([]byte{}, body...), '\n')
	}
	return body
}

func trunc(b []byte) []byte {
	if len(b) > 200 {
		return append(append([]byte{}, b[:200]...), "…"...)
	}
	return b
}

// TestMboxLooksNormal checks the file as a plain mbox reader sees it: every
// line that starts with "From " is a separator preceded by a blank line, and
// the flag headers are where mutt and Dovecot look for them.
func TestMboxLooksNormal(t *testing.T) {
	cases := hostileMboxCases()
	file := writeMbox(t, cases)
	lines := bytes.SplitAfter(file, []byte("\n"))
	seps := 0
	for i, l := range lines {
		if !bytes.HasPrefix(l, []byte("From ")) {
			continue
		}
		seps++
		if i > 0 && (string(lines[i-1]) != "\n" || (i > 1 && !bytes.HasSuffix(lines[i-2], []byte("\n")))) {
			t.Errorf("From line %d %q does not follow a blank line", i, l)
		}
		if _, _, ok := ParseMboxFromLine(bytes.TrimSuffix(l, []byte("\n"))); !ok {
			t.Errorf("From line %q does not parse", l)
		}
	}
	if seps != len(cases) {
		t.Errorf("%d lines start with From, want %d separators", seps, len(cases))
	}
	if !bytes.HasSuffix(file, []byte("\n\n")) {
		t.Errorf("file does not end with a blank line")
	}
	want := "From MAILER-DAEMON Sat Mar  9 17:04:05 2024\nSubject: hi\nStatus: RO\n\nhello\n\n"
	if got := string(file[:len(want)]); got != want {
		t.Errorf("first message written as\n%q\nwant\n%q", got, want)
	}
	for _, tt := range []struct {
		c    mboxCase
		want string
	}{
		{cases[22], "From MAILER-DAEMON Sat Mar  9 17:04:05 2024\nSubject: a\nStatus: RO\nX-Status: AFTD\nX-Keywords: $Forwarded $Label1 work\n\nb\n\n"},
		// A message's own store headers are renamed, so no reader takes
		// them for the store's.
		{cases[19], "From MAILER-DAEMON Sat Mar  9 17:04:05 2024\nX-Original-Status: RO\nX-Original-X-Status: AF\nX-Original-X-Keywords: junk\n" +
			"X-Original-Content-Length: 3\nX-Original-X-Mozilla-Status: 0001\nX-Original-X-Mailferry-Frame: 1 999\nSubject: s\nStatus: RO\n\nbody that is longer than three\n\n"},
		{mboxCase{"renamed", "X-Original-Status: 1\nx-original-X-ORIGINAL-content-length : 2\nX-Original-To: a\n\n", nil, d2024},
			"From MAILER-DAEMON Sat Mar  9 17:04:05 2024\nX-Original-X-Original-Status: 1\nX-Original-x-original-X-ORIGINAL-content-length : 2\nX-Original-To: a\nStatus: O\n\n\n"},
		{cases[21], "From MAILER-DAEMON Sat Mar  9 17:04:05 2024\n folded\nSubject: x\nStatus: O\n\ny\n\n"},
		{cases[14], "From MAILER-DAEMON Sat Mar  9 17:04:05 2024\nSubject: h\nFrom: a@b\nStatus: O\n\n"},
	} {
		if got := string(writeMbox(t, []mboxCase{tt.c})); got != tt.want {
			t.Errorf("%s written as\n%q\nwant\n%q", tt.c.name, got, tt.want)
		}
	}
}

func TestMboxWriterRejectsUnkeepableFlags(t *testing.T) {
	var buf bytes.Buffer
	_, err := NewMboxWriter(&buf).WriteMessageBytes(MboxEnvelope{Flags: []string{"has space"}}, []byte("x\n"))
	if !errors.Is(err, ErrMboxFlag) || buf.Len() != 0 {
		t.Fatalf("err %v, %d bytes written", err, buf.Len())
	}
	keep, drop := SplitMboxFlags([]string{`\seen`, `\Recent`, "ok", "bad\tkw", `\Custom`, ""})
	if !reflect.DeepEqual(keep, []string{`\Seen`, "ok"}) || !reflect.DeepEqual(drop, []string{`\Custom`, "bad\tkw"}) {
		t.Errorf("SplitMboxFlags: keep %q drop %q", keep, drop)
	}
	_, err = NewMboxWriter(&buf).WriteMessageBytes(MboxEnvelope{Date: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, []byte("x\n"))
	if err == nil {
		t.Errorf("a date in year 10000 was accepted")
	}
}

func TestMboxAppendPrefix(t *testing.T) {
	for tail, want := range map[string]string{
		"": "", "\n\n": "", "x\n\n": "", "\r\n\r\n": "", "x\n": "\n", "\n": "\n", "x": "\n\n", "\r\n": "\n",
	} {
		if got := MboxAppendPrefix([]byte(tail)); got != want {
			t.Errorf("MboxAppendPrefix(%q) = %q, want %q", tail, got, want)
		}
	}
}

func TestParseMboxFromLine(t *testing.T) {
	tests := []struct {
		line   string
		sender string
		date   time.Time
		ok     bool
	}{
		{"From MAILER-DAEMON Sat Mar  9 17:04:05 2024", "MAILER-DAEMON", d2024, true},
		{"From a@b Sat Mar 09 17:04:05 2024", "a@b", d2024, true},
		{"From a@b Sat Mar  9 17:04:05 2024\r", "a@b", d2024, true},
		{"From - Sat Mar  9 17:04:05 2024", "-", d2024, true},
		{"From a@b Sat Mar  9 17:04 2024", "a@b", d2024.Truncate(time.Minute), true},
		{"From a@b Sat Mar  9 18:04:05 2024 +0100", "a@b", d2024, true},
		{"From a@b Sat Mar  9 17:04:05 MET 2024", "a@b", d2024, true},
		{"From a@b Sat Mar  9 17:04:05 2024 UTC", "a@b", d2024, true},
		{"From a@b  Sat  Mar  9  17:04:05  2024", "a@b", d2024, true},
		{"From  Sat Mar  9 17:04:05 2024", "", d2024, true},
		// Google Takeout: a numeric zone before the year.
		{"From 1234567890123456789@xxx Sat Mar 09 17:04:05 +0000 2024", "1234567890123456789@xxx", d2024, true},
		{"From 1234567890123456789@xxx Sat Mar 09 18:04:05 +0100 2024", "1234567890123456789@xxx", d2024, true},
		{"From a@b Sat Mar  9 17:04:05 MET DST 2024", "a@b", d2024, true},
		{"From a@b Sat Mar  9 17:04:05 2024 -0000 (UTC)", "", time.Time{}, false},
		{"From uucp Sat Mar  9 17:04:05 2024 remote from gateway", "uucp", d2024, true},
		{"From a@b sat mar  9 17:04:05 2024", "a@b", d2024, true},
		{"From a@b Sat Mar  9 17:04:05 +0000 2024 +0000", "", time.Time{}, false},
		{"From a@b Sat Mar  9 17:04:05 2024 2024", "", time.Time{}, false},
		{"From a@b Sat Mar  9 17:04:05 A B C 2024", "", time.Time{}, false},
		{"From a@b Sat Mar  9 17:04:05 remote from x", "", time.Time{}, false},
		{"From here on we go", "", time.Time{}, false},
		{"From a@b Sat Mar 32 17:04:05 2024", "", time.Time{}, false},
		{"From a@b Sat Feb 30 17:04:05 2024", "", time.Time{}, false},
		{"From a@b Sat Mar  9 25:04:05 2024", "", time.Time{}, false},
		{"From a@b Sat Mar  9 17:04:05 24", "", time.Time{}, false},
		{"From a@b Sat Mar  9 17:04:05 2024 extra", "", time.Time{}, false},
		{">From a@b Sat Mar  9 17:04:05 2024", "", time.Time{}, false},
		{"from a@b Sat Mar  9 17:04:05 2024", "", time.Time{}, false},
		{"From:a@b Sat Mar  9 17:04:05 2024", "", time.Time{}, false},
	}
	for _, tt := range tests {
		s, d, ok := ParseMboxFromLine([]byte(tt.line))
		if ok != tt.ok || s != tt.sender || !d.Equal(tt.date) {
			t.Errorf("ParseMboxFromLine(%q) = %q, %v, %v; want %q, %v, %v", tt.line, s, d, ok, tt.sender, tt.date, tt.ok)
		}
	}
	for _, tt := range []struct{ sender, want string }{
		{"", "MAILER-DAEMON"}, {"<>", "MAILER-DAEMON"}, {"<a b@c>", "ab@c"}, {"Mon", "MAILER-DAEMON"}, {"x\x00y", "xy"},
	} {
		l, err := FormatMboxFromLine(tt.sender, d2024)
		if want := "From " + tt.want + " Sat Mar  9 17:04:05 2024\n"; err != nil || l != want {
			t.Errorf("FormatMboxFromLine(%q) = %q, %v; want %q", tt.sender, l, err, want)
		}
	}
}

func TestMboxFolderNames(t *testing.T) {
	tests := []struct{ folder, path string }{
		{"INBOX", "INBOX.mbox"},
		{"Archive/2019", "Archive/2019.mbox"},
		{"a:b*c?", "a%3Ab%2Ac%3F.mbox"},
		{"100%", "100%25.mbox"},
		{".hidden/..", "%2Ehidden/%2E..mbox"},
		{"x.sbd/y.msf", "x%2Esbd/y%2Emsf.mbox"},
		{"a//b", "a/%/b.mbox"},
		{"Entwürfe", "Entwürfe.mbox"},
		{"back\\slash", "back%5Cslash.mbox"},
		{"tab\there", "tab%09here.mbox"},
		{"old.mbox", "old.mbox.mbox"},
	}
	for _, tt := range tests {
		p, err := MboxFolderPath(tt.folder)
		if err != nil || p != tt.path {
			t.Errorf("MboxFolderPath(%q) = %q, %v; want %q", tt.folder, p, err, tt.path)
		}
		if f := MboxFolderName(p); f != tt.folder {
			t.Errorf("MboxFolderName(%q) = %q, want %q", p, f, tt.folder)
		}
	}
	if _, err := MboxFolderPath(""); err == nil {
		t.Errorf("empty folder name accepted")
	}
	if f := MboxFolderName("50%off%zz.mbox"); f != "50%off%zz" {
		t.Errorf("foreign name with stray %% decoded to %q", f)
	}
}

// FuzzParseMboxFromLine: whatever the line, parsing ends without a panic,
// and a date it accepts is written back by FormatMboxFromLine as a line
// that parses to the same time.
func FuzzParseMboxFromLine(f *testing.F) {
	for _, l := range []string{
		"From MAILER-DAEMON Sat Mar  9 17:04:05 2024",
		"From 1234567890123456789@xxx Sat Mar 09 17:04:05 +0000 2024",
		"From a@b Sat Mar  9 17:04:05 MET DST 2024",
		"From uucp Sat Mar  9 17:04:05 2024 remote from gateway",
		"From a@b Sat Mar  9 18:04:05 2024 +0100",
		"From - Mon Jan  1 00:00:00 0001 +2359",
	} {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		_, date, ok := ParseMboxFromLine(line)
		if !ok || date.IsZero() {
			return // the zero time is written as "unknown"
		}
		out, err := FormatMboxFromLine("x", date)
		if err != nil {
			if y := date.Year(); y >= 1 && y <= 9999 {
				t.Fatalf("%q: date %v not writable: %v", line, date, err)
			}
			return
		}
		_, back, ok := ParseMboxFromLine([]byte(strings.TrimSuffix(out, "\n")))
		if !ok || !back.Equal(date) {
			t.Fatalf("%q: date %v written as %q, read back as %v (%v)", line, date, out, back, ok)
		}
	})
}

func TestMboxDovecotNames(t *testing.T) {
	tests := []struct{ folder, path string }{
		{"INBOX", "INBOX"},
		{"Archive/2019", "Archive/2019"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"日本語/テスト", "&ZeVnLIqe-/&MMYwuTDI-"},
		{"a&b", "a&-b"},
		{"100%", "100%25"},
		{".hidden/~home", "%2Ehidden/%7Ehome"},
		{"x.sbd/y.msf/z.mbox/w.lock", "x%2Esbd/y%2Emsf/z%2Embox/w%2Elock"},
		{"a//b", "a/%/b"},
		{"back\\slash", "back\\slash"},
		{"tab\there", "tab&AAk-here"},
		{"a.b", "a.b"},
		{"Gr\xfc\xdfe", "Gr%FC%DFe"},
		{"50%&x", "50%25&-x"},
	}
	for _, tt := range tests {
		p, err := MboxDovecotPath(tt.folder)
		if err != nil || p != tt.path {
			t.Errorf("MboxDovecotPath(%q) = %q, %v; want %q", tt.folder, p, err, tt.path)
		}
		if f := MboxDovecotFolderName(p); f != tt.folder {
			t.Errorf("MboxDovecotFolderName(%q) = %q, want %q", p, f, tt.folder)
		}
	}
	// The sink's names for a folder holding messages and subfolders.
	if f := MboxDovecotFolderName("Entw&APw-rfe.sbd/x.mbox"); f != "Entwürfe/x" {
		t.Errorf("fallback names decoded to %q", f)
	}
	// Files other programs named are taken as they are.
	if f := MboxDovecotFolderName("AT&T"); f != "AT&T" {
		t.Errorf("foreign name decoded to %q", f)
	}
}

func FuzzMboxDovecotPath(f *testing.F) {
	for _, s := range []string{"INBOX", "Entwürfe/x", "a&b", ".x/~y", "z.mbox", "\xff&", "%", "a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, folder string) {
		p, err := MboxDovecotPath(folder)
		if folder == "" {
			if err == nil {
				t.Fatal("empty folder accepted")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(p, "/") {
			if l == "" || l[0] == '.' || l[0] == '~' || strings.HasSuffix(l, ".lock") || strings.HasSuffix(l, ".mbox") || strings.HasSuffix(l, ".sbd") {
				t.Fatalf("%q: level %q of %q", folder, l, p)
			}
		}
		if back := MboxDovecotFolderName(p); back != folder {
			t.Fatalf("%q -> %q -> %q", folder, p, back)
		}
	})
}
