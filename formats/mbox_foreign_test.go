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

type wantMsg struct {
	body  string
	flags []string
	date  time.Time
}

func checkMbox(t *testing.T, name, file string, want []wantMsg) {
	t.Helper()
	msgs, bodies := readAllMbox(t, []byte(file))
	if len(msgs) != len(want) {
		for i, b := range bodies {
			t.Logf("%s: message %d: %q", name, i, b)
		}
		t.Fatalf("%s: %d messages, want %d", name, len(msgs), len(want))
	}
	for i, w := range want {
		if string(bodies[i]) != w.body {
			t.Errorf("%s: message %d body\n got %q\nwant %q", name, i, bodies[i], w.body)
		}
		flags := msgs[i].Flags
		if len(flags) == 0 {
			flags = nil
		}
		if !reflect.DeepEqual(flags, w.flags) {
			t.Errorf("%s: message %d flags %q, want %q", name, i, flags, w.flags)
		}
		if !w.date.IsZero() && !msgs[i].Date.Equal(w.date) {
			t.Errorf("%s: message %d date %v, want %v", name, i, msgs[i].Date, w.date)
		}
		if msgs[i].Framed || msgs[i].Incomplete {
			t.Errorf("%s: message %d Framed=%v Incomplete=%v", name, i, msgs[i].Framed, msgs[i].Incomplete)
		}
	}
}

var d2024b = time.Date(2024, 3, 10, 10, 0, 0, 0, time.UTC)

func TestMboxForeignThunderbird(t *testing.T) {
	file := "From - Sat Mar  9 17:04:05 2024\n" +
		"X-Mozilla-Status: 0003\n" +
		"X-Mozilla-Status2: 00000000\n" +
		"X-Mozilla-Keys: $label1 later                                   \n" +
		"Subject: one\n" +
		"\n" +
		"hello\n" +
		">From quoted\n" +
		"From not after a blank line Mon Jan  1 00:00:00 2024\n" +
		"\n" +
		"From no date here\n" +
		"body\n" +
		"\n" +
		"From - Sun Mar 10 10:00:00 2024\n" +
		"X-Mozilla-Status: 1008\n" +
		"X-Mozilla-Status2: 00800000\n" +
		"Subject: two\n" +
		"\n" +
		"x\n"
	checkMbox(t, "thunderbird", file, []wantMsg{
		{"Subject: one\n\nhello\nFrom quoted\nFrom not after a blank line Mon Jan  1 00:00:00 2024\n\nFrom no date here\nbody\n",
			[]string{"$label1", `\Answered`, `\Seen`, "later"}, d2024},
		{"Subject: two\n\nx\n", []string{"$Forwarded"}, d2024b},
	})
	msgs, _ := readAllMbox(t, []byte(file))
	if msgs[0].Expunged || !msgs[1].Expunged {
		t.Errorf("Expunged = %v, %v; want false, true (X-Mozilla-Status 0003, 1008)", msgs[0].Expunged, msgs[1].Expunged)
	}
}

// TestMboxForeignBookkeeping: the pseudo-message of UW-IMAP and Pine, the
// IMAP-deleted bit of X-Mozilla-Status2, Evolution's X-Evolution flags and
// fields stripped on request.
func TestMboxForeignBookkeeping(t *testing.T) {
	file := "From MAILER-DAEMON Sat Mar  9 17:04:05 2024\n" +
		"Date: Sat, 9 Mar 2024 17:04:05 +0000\n" +
		"From: Mail System Internal Data <MAILER-DAEMON@host>\n" +
		"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n" +
		"X-IMAP: 1709999999 0000000002 $Forwarded\n" +
		"Status: RO\n" +
		"\n" +
		"This text is part of the internal format of your mail folder, and is not\n" +
		"a real message.  It is created automatically by the mail system software.\n" +
		"\n" +
		"From a@b Sun Mar 10 10:00:00 2024\n" +
		"X-Mozilla-Status: 0001\n" +
		"X-Mozilla-Status2: 00200000\n" +
		"X-GM-THRID: 17\n" +
		"X-Gmail-Labels: Inbox,Work\n" +
		"X-Gmail-Labels: a second one is removed too\n" +
		"Subject: one\n" +
		"\n" +
		"x\n" +
		"\n" +
		"From a@b Sun Mar 10 10:00:00 2024\n" +
		"X-Evolution: 0000002a-0019\n" +
		"X-IMAP: not first, so removed but not a pseudo-message\n" +
		"Subject: two\n" +
		"\n" +
		"y\n"
	r := NewMboxReader(bytes.NewReader([]byte(file)), int64(len(file)))
	r.StripFields("X-GM-THRID", "x-gmail-labels")
	var msgs []*MboxMessage
	var bodies []string
	for i := 0; i < 10; i++ {
		m, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(m.Body())
		msgs, bodies = append(msgs, m), append(bodies, string(b))
	}
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3: %q", len(msgs), bodies)
	}
	if !msgs[0].Pseudo || msgs[1].Pseudo || msgs[2].Pseudo {
		t.Errorf("Pseudo = %v %v %v, want only the first", msgs[0].Pseudo, msgs[1].Pseudo, msgs[2].Pseudo)
	}
	if want := "Subject: one\n\nx\n"; bodies[1] != want {
		t.Errorf("stripped body %q, want %q", bodies[1], want)
	}
	if want := map[string]string{"x-gm-thrid": "17", "x-gmail-labels": "Inbox,Work"}; !reflect.DeepEqual(msgs[1].Fields, want) {
		t.Errorf("Fields %q, want %q", msgs[1].Fields, want)
	}
	if want := []string{`\Deleted`, `\Seen`}; !reflect.DeepEqual(msgs[1].Flags, want) {
		t.Errorf("X-Mozilla-Status2 flags %q, want %q", msgs[1].Flags, want)
	}
	if want := []string{`\Answered`, `\Flagged`, `\Seen`}; !reflect.DeepEqual(msgs[2].Flags, want) || bodies[2] != "Subject: two\n\ny\n" {
		t.Errorf("X-Evolution: flags %q body %q, want %q", msgs[2].Flags, bodies[2], want)
	}
}

func TestMboxForeignMboxcl2(t *testing.T) {
	body := "x\n\nFrom fake Mon Jan  1 00:00:00 2024\n>From stays quoted\n"
	file := "From a@b Sat Mar  9 17:04:05 2024\n" +
		"Status: RO\n" +
		fmt.Sprintf("Content-Length: %d\n", len(body)) +
		"Subject: cl\n" +
		"\n" + body + "\n" +
		"From c@d Sun Mar 10 10:00:00 2024\n" +
		"Content-Length: 5\n" + // inconsistent: kept, separators decide
		"Subject: bad cl\n" +
		"\n" +
		">From unquoted\n" +
		"more than five bytes\n" +
		"\n"
	checkMbox(t, "mboxcl2", file, []wantMsg{
		{"Subject: cl\n\n" + body, []string{`\Seen`}, d2024},
		{"Content-Length: 5\nSubject: bad cl\n\nFrom unquoted\nmore than five bytes\n", nil, d2024b},
	})
	// A consistent length at the end of the file, without a final LF.
	file2 := "From a@b Sat Mar  9 17:04:05 2024\nContent-Length: 4\n\nabcd"
	checkMbox(t, "mboxcl2 at eof", file2, []wantMsg{{"\nabcd", nil, d2024}})
}

func TestMboxForeignMuttDovecot(t *testing.T) {
	file := "\n\n" + // blank lines before the first message are skipped
		"From alice@example.org Sat Mar  9 17:04:05 2024\n" +
		"Subject: mutt\n" +
		"Status: RO\n" +
		"X-Status: AF\n" +
		"\n" +
		"body\n" +
		"\n" +
		"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" +
		"X-IMAPbase: 1700000000 0000000002 $Forwarded work\n" +
		"X-UID: 1\n" +
		"Status: O\n" +
		"X-Keywords: $Forwarded, work  junk\n" +
		"Date: Sun, 10 Mar 2024 11:00:00 +0100\n" +
		"Subject: dovecot\n" +
		"\n" +
		"x\n" +
		"\n" +
		"From crlf Sun Mar 10 10:00:00 2024\r\n" +
		"Subject: crlf\r\n" +
		"X-Status: T\r\n" +
		"\r\n" +
		"line\r\n" +
		"\r\n"
	checkMbox(t, "mutt and dovecot", file, []wantMsg{
		{"Subject: mutt\n\nbody\n", []string{`\Answered`, `\Flagged`, `\Seen`}, d2024},
		// The Unix epoch is a date like any other, not "unknown".
		{"Date: Sun, 10 Mar 2024 11:00:00 +0100\nSubject: dovecot\n\nx\n", []string{"$Forwarded", "junk", "work"}, time.Unix(0, 0).UTC()},
		{"Subject: crlf\r\n\r\nline\r\n", []string{`\Draft`}, d2024b},
	})
}

// TestMboxRewrittenFrame: mutt rewrites a message's flags by dropping its
// Status lines and writing new ones at the end of the header. The frame no
// longer checks out, so the message is read as a foreign one.
func TestMboxRewrittenFrame(t *testing.T) {
	file := "From MAILER-DAEMON Sat Mar  9 17:04:05 2024\n" +
		"X-Mailferry-Frame: 1 19\n" +
		"Subject: hi\n" +
		"Status: RO\n" +
		"X-Status: F\n" +
		"\n" +
		"hello\n" +
		"\n"
	checkMbox(t, "rewritten", file, []wantMsg{{"Subject: hi\n\nhello\n", []string{`\Flagged`, `\Seen`}, d2024}})

	// Dovecot keeps the frame block but adds its own fields at the end of
	// the message's header (with padding), so the length no longer fits.
	dovecot := "From MAILER-DAEMON Sat Mar  9 17:04:05 2024\n" +
		"Status: RO\n" +
		"X-Mailferry-Frame: 1 19\n" +
		"Subject: hi\n" +
		"X-IMAPbase: 1795641391 0000000001 work\n" +
		"X-UID: 1     \n" +
		"X-Keywords: work       \n" +
		"\n" +
		"hello\n" +
		"\n"
	checkMbox(t, "dovecot", dovecot, []wantMsg{{"Subject: hi\n\nhello\n", []string{`\Seen`, "work"}, d2024}})
}

// TestMboxAppendToForeign appends messages to a foreign file, as the sink
// does, and reads both kinds back.
func TestMboxAppendToForeign(t *testing.T) {
	for _, foreign := range []string{
		"From a Sat Mar  9 17:04:05 2024\nSubject: f\n\nno final newline",
		"From a Sat Mar  9 17:04:05 2024\nSubject: f\n\nno blank line\n",
		"From a Sat Mar  9 17:04:05 2024\nSubject: f\n\nblank line\n\n",
	} {
		var buf bytes.Buffer
		buf.WriteString(foreign)
		tail := buf.Bytes()[max(buf.Len()-3, 0):]
		buf.WriteString(MboxAppendPrefix(tail))
		if _, err := NewMboxWriter(&buf).WriteMessageBytes(MboxEnvelope{Date: d2024}, []byte("Subject: ours\n\nFrom x\n")); err != nil {
			t.Fatal(err)
		}
		msgs, bodies := readAllMbox(t, buf.Bytes())
		if len(msgs) != 2 || msgs[0].Framed || msgs[1].Framed || string(bodies[1]) != "Subject: ours\n\nFrom x\n" {
			t.Fatalf("after %q: %d messages, bodies %q", foreign, len(msgs), bodies)
		}
		if !bytes.HasPrefix(bodies[0], []byte("Subject: f\n\n")) {
			t.Errorf("foreign message became %q", bodies[0])
		}
	}
}

func TestMboxNotMbox(t *testing.T) {
	for _, tt := range []struct {
		file   string
		offset int64
	}{
		{"Subject: hello\n\nbody\n", 0},
		{"\n\nhello", 2},
		{"From nobody knows\nSubject: x\n", 0},
		{">From a Sat Mar  9 17:04:05 2024\n", 0},
		{"\x00\x01\x02", 0},
	} {
		r := NewMboxReader(bytes.NewReader([]byte(tt.file)), int64(len(tt.file)))
		_, err := r.Next()
		var ne *NotMboxError
		if !errors.Is(err, ErrNotMbox) || !errors.As(err, &ne) || ne.Offset != tt.offset {
			t.Errorf("%q: err %v, want NotMboxError at %d", tt.file, err, tt.offset)
		}
		if _, err2 := r.Next(); err2 != err {
			t.Errorf("%q: second Next gave %v", tt.file, err2)
		}
	}
	for _, empty := range []string{"", "\n", "\n\r\n\n"} {
		r := NewMboxReader(bytes.NewReader([]byte(empty)), int64(len(empty)))
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("%q: %v, want io.EOF", empty, err)
		}
	}
}

// legacyFramed is a message as mailferry wrote it before version 2 of its
// mbox format: a frame block with the quoted length in front of it.
func legacyFramed(t *testing.T, body string) string {
	t.Helper()
	var q bytes.Buffer
	f := newFromFilter(&q, false)
	f.Write([]byte(body))
	f.Close()
	tail := "\n"
	if body != "" && !strings.HasSuffix(body, "\n") {
		tail = "\n\n"
	}
	return fmt.Sprintf("From MAILER-DAEMON Sat Mar  9 17:04:05 2024\nStatus: RO\n%s: %s %d\n%s%s", mboxFrameField, mboxFrameVersion, q.Len(), q.String(), tail)
}

// TestMboxTornTail cuts a file at every byte of its last message: the
// messages before it stay whole, and the cut never makes them more or
// fewer. Without a frame the reader cannot tell a message cut after a line
// from a shorter one (the sink knows from what it committed); it does see
// a From_ line cut short.
func TestMboxTornTail(t *testing.T) {
	cases := []mboxCase{
		{"one", "Subject: 1\n\nFrom a\n\nbody\n", []string{`\Seen`}, d2024},
		{"two", "Subject: 2\n\n\n\nx\n", nil, d2024},
		{"last", "Subject: 3\nFrom: x\n\n\nFrom me Sat Mar  9 17:04:05 2024\n\nend\n\n", []string{`\Flagged`, "kw"}, d2024},
	}
	file := writeMbox(t, cases)
	full, _ := readAllMbox(t, file)
	lastStart := full[2].Offset
	for cut := lastStart; cut <= int64(len(file)); cut++ {
		msgs, bodies := readAllMbox(t, file[:cut])
		n := 2
		if cut > lastStart {
			n = 3
		}
		if len(msgs) != n {
			t.Fatalf("cut at %d: %d messages, want %d", cut, len(msgs), n)
		}
		for i := 0; i < 2; i++ {
			if string(bodies[i]) != cases[i].body || msgs[i].Incomplete {
				t.Fatalf("cut at %d: message %d damaged: %q", cut, i, bodies[i])
			}
		}
		if n == 3 {
			fromLine := bytes.IndexByte(file[lastStart:], '\n') + 1
			if cut-lastStart < int64(fromLine) && !msgs[2].Incomplete {
				t.Fatalf("cut at %d: Incomplete=%v", cut, msgs[2].Incomplete)
			}
		}
	}
}

// TestMboxLegacyTornTail: in an archive written before version 2, the frame
// still tells a complete last message from a torn one.
func TestMboxLegacyTornTail(t *testing.T) {
	bodies := []string{"Subject: 1\n\nFrom a\n\nbody\n", "Subject: 2\n\nno newline", "Subject: 3\n\n\nFrom me Sat Mar  9 17:04:05 2024\n\nend\n\n"}
	var file string
	for _, b := range bodies {
		file += legacyFramed(t, b)
	}
	lastStart := int64(len(file) - len(legacyFramed(t, bodies[2])))
	for cut := lastStart + 1; cut <= int64(len(file)); cut++ {
		msgs, got := readAllMbox(t, []byte(file[:cut]))
		if len(msgs) != 3 {
			t.Fatalf("cut at %d: %d messages", cut, len(msgs))
		}
		for i := 0; i < 2; i++ {
			if !msgs[i].Framed || string(got[i]) != bodies[i] {
				t.Fatalf("cut at %d: message %d: framed=%v %q", cut, i, msgs[i].Framed, got[i])
			}
		}
		complete := cut == int64(len(file))
		if msgs[2].Incomplete == complete || msgs[2].Framed != complete {
			t.Fatalf("cut at %d of %d: Incomplete=%v Framed=%v", cut, len(file), msgs[2].Incomplete, msgs[2].Framed)
		}
		if complete && (string(got[2]) != bodies[2] || !msgs[2].Date.Equal(d2024)) {
			t.Fatalf("complete legacy message read as %q, %v", got[2], msgs[2].Date)
		}
	}
}

func FuzzMboxReader(f *testing.F) {
	f.Add([]byte("From a Sat Mar  9 17:04:05 2024\nSubject: x\n\nbody\n"))
	f.Add(writeMbox(f, hostileMboxCases()[:12]))
	f.Add([]byte("From a Sat Mar  9 17:04:05 2024\nContent-Length: 4\n\nabcd\nFrom b Sat Mar  9 17:04:05 2024\n"))
	f.Add([]byte("From a Sat Mar  9 17:04:05 2024\nStatus: RO\nX-Mailferry-Frame: 1 3\nabc\n\nFrom b Sat"))
	f.Add([]byte("From - Sat Mar  9 17:04:05 2024\nX-Mozilla-Status: 1009\nX-Mozilla-Keys: a b\n\n>>From x\n"))
	f.Add([]byte("From a Sat Mar 09 17:04:05 +0000 2024\nX-IMAP: 1 2\n\n\nFrom b Sat Mar  9 17:04:05 2024\nX-Mozilla-Status: 0009\nX-Evolution: 1-1f\n"))
	f.Add([]byte("From a Sat Mar 09 17:04:05 +0000 2024\nX-GM-THRID: 1\nX-Gmail-Labels: Inbox,\"a,b\"\n \tOpened\n\nx\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewMboxReader(bytes.NewReader(data), int64(len(data)))
		r.StripFields("X-Gmail-Labels", "X-GM-THRID")
		var end int64
		for i := 0; i <= len(data)+1; i++ {
			m, err := r.Next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrNotMbox) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if m.Offset < end || m.Length <= 0 || m.Offset+m.Length > int64(len(data)) {
				t.Fatalf("message at %d+%d after %d in %d bytes", m.Offset, m.Length, end, len(data))
			}
			if m.Pseudo && i > 0 {
				t.Fatalf("message %d at %d is a pseudo-message; only the first can be", i, m.Offset)
			}
			end = m.Offset + m.Length
			b, err := io.ReadAll(m.Body())
			if err != nil || int64(len(b)) > m.StoredSize() {
				t.Fatalf("body: %d bytes > stored %d, %v", len(b), m.StoredSize(), err)
			}
		}
		t.Fatalf("Next did not end")
	})
}

func FuzzMboxRoundTrip(f *testing.F) {
	f.Add([]byte("Subject: x\n\nFrom y\n>From z"), []byte("second\r\n"), uint8(5), "kw", int64(1700000000))
	f.Add([]byte(""), []byte("\n\n"), uint8(0), "", int64(0))
	f.Add([]byte("X-Mailferry-Frame: 1 3\n\nab"), []byte("From a Sat Mar  9 17:04:05 2024\n"), uint8(255), "$Forwarded", int64(-86400*365*20))
	f.Fuzz(func(t *testing.T, a, b []byte, bits uint8, kw string, unix int64) {
		var flags []string
		for i, fl := range []string{FlagSeen, FlagAnswered, FlagFlagged, FlagDraft, FlagDeleted, FlagForwarded} {
			if bits&(1<<i) != 0 {
				flags = append(flags, fl)
			}
		}
		if MboxKeywordOK(kw) {
			flags = append(flags, kw)
		}
		// Dates from 1900 to 2100, to the second; 0 stands for unknown,
		// which the writer replaces by the Date: header's time or now.
		date := time.Unix(unix%(200*365*86400)-70*365*86400, 0).UTC()
		if unix == 0 {
			date = time.Time{}
		}
		var buf bytes.Buffer
		w := NewMboxWriter(&buf)
		for _, body := range [][]byte{a, b, a} {
			if _, err := w.WriteMessageBytes(MboxEnvelope{Date: date, Flags: flags}, body); err != nil {
				t.Fatal(err)
			}
		}
		msgs, bodies := readAllMbox(t, buf.Bytes())
		if len(msgs) != 3 {
			t.Fatalf("%d messages, want 3", len(msgs))
		}
		for i, body := range [][]byte{a, b, a} {
			m := msgs[i]
			if want := mboxKept(body); !bytes.Equal(bodies[i], want) {
				t.Fatalf("message %d: got %q, want %q", i, bodies[i], want)
			}
			if date.IsZero() && m.Date.IsZero() {
				t.Fatalf("message %d: an unknown date was written as no date", i)
			}
			if m.Framed || (!date.IsZero() && !m.Date.Equal(date)) || !reflect.DeepEqual(m.Flags, wantFlags(flags)) {
				t.Fatalf("message %d: framed=%v date %v (want %v) flags %q (want %q)", i, m.Framed, m.Date, date, m.Flags, wantFlags(flags))
			}
		}
	})
}

// TestMboxForeignTakeoutFromLine: Google Takeout writes a numeric zone
// before the year; such a file was once refused at its first byte.
func TestMboxForeignTakeoutFromLine(t *testing.T) {
	file := "From 1789012345678901234@xxx Sat Mar 09 17:04:05 +0000 2024\n" +
		"X-GM-THRID: 1789012345678901234\n" +
		"Subject: one\n" +
		"\n" +
		"hello\n" +
		"\n" +
		"From 1789012345678901235@xxx Sun Mar 10 10:00:00 +0000 2024\n" +
		"Subject: two\n" +
		"\n" +
		"x\n"
	checkMbox(t, "takeout", file, []wantMsg{
		{"X-GM-THRID: 1789012345678901234\nSubject: one\n\nhello\n", nil, d2024},
		{"Subject: two\n\nx\n", nil, d2024b},
	})
}
