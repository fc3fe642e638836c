package sample

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/formats"
)

// checkWellFormed asserts what every sample message promises: CRLF only, a
// header with Date and a unique Message-ID, a date, a folder.
func checkWellFormed(t *testing.T, msgs []Message) {
	t.Helper()
	ids := make(map[string]bool)
	for i, m := range msgs {
		name := fmt.Sprintf("message %d (%s)", i, m.Folder)
		if m.Folder == "" || m.Date.IsZero() {
			t.Errorf("%s: folder %q date %v", name, m.Folder, m.Date)
		}
		if n := formats.WireSize(m.Body); n != int64(len(m.Body)) {
			t.Errorf("%s: has bare LF", name)
		}
		if bytes.Contains(bytes.ReplaceAll(m.Body, []byte("\r\n"), nil), []byte("\r")) {
			t.Errorf("%s: has bare CR", name)
		}
		hdr := m.Body[:formats.HeaderEnd(m.Body)]
		if !bytes.HasSuffix(hdr, []byte("\r\n\r\n")) {
			t.Errorf("%s: no blank line after the header", name)
		}
		id := formats.MessageID(hdr)
		if id == "" || ids[id] {
			t.Errorf("%s: Message-ID %q missing or repeated", name, id)
		}
		ids[id] = true
		if !bytes.Contains(hdr, []byte("\r\nDate: ")) && !bytes.HasPrefix(hdr, []byte("Date: ")) {
			t.Errorf("%s: no Date header", name)
		}
		for _, f := range m.Flags {
			if !formats.IsSystemFlag(f) && !formats.ValidKeyword(f) {
				t.Errorf("%s: flag %q is no valid keyword", name, f)
			}
		}
	}
}

func TestMailbox(t *testing.T) {
	msgs := Mailbox()
	if len(msgs) < 30 || len(msgs) > 60 {
		t.Fatalf("%d messages, want 30–60", len(msgs))
	}
	checkWellFormed(t, msgs)
	folders := make(map[string]int)
	var attachments, keywords int
	for _, m := range msgs {
		folders[m.Folder]++
		if bytes.Contains(m.Body, []byte("Content-Disposition: attachment")) {
			attachments++
		}
		for _, f := range m.Flags {
			if !formats.IsSystemFlag(f) && f != formats.FlagForwarded {
				keywords++
			}
		}
	}
	for _, f := range []string{"INBOX", "Sent", "Archive/2024", "Reisen/Übersicht"} {
		if folders[f] == 0 {
			t.Errorf("no messages in %s", f)
		}
	}
	if attachments == 0 || keywords == 0 {
		t.Errorf("%d attachments, %d keywords; want some of each", attachments, keywords)
	}

	// Callers may modify what they get without changing the next result.
	msgs[0].Body[0] = 'X'
	msgs[0].Flags = append(msgs[0].Flags, "Changed")
	again := Mailbox()
	if again[0].Body[0] == 'X' || len(again[0].Flags) == len(msgs[0].Flags) {
		t.Error("Mailbox shares memory between calls")
	}
	if !bytes.Contains(again[0].Body, []byte("Subject: Welcome to mailferry\r\n")) {
		t.Errorf("first message:\n%s", again[0].Body)
	}
}

func TestParseMailboxErrors(t *testing.T) {
	for _, text := range []string{
		"=== INBOX | - \nSubject: x\n",
		"=== INBOX | - | not a date\n",
		"stray text\n",
	} {
		if _, err := parseMailbox(text); err == nil {
			t.Errorf("parseMailbox(%q): no error", text)
		}
	}
}

func TestGenerate(t *testing.T) {
	const n, avg = 2000, 8000
	a := Generate(n, 42, avg)
	if len(a) != n {
		t.Fatalf("%d messages, want %d", len(a), n)
	}
	checkWellFormed(t, a)
	b := Generate(n, 42, avg)
	for i := range a {
		if !bytes.Equal(a[i].Body, b[i].Body) || !a[i].Date.Equal(b[i].Date) || a[i].Folder != b[i].Folder ||
			strings.Join(a[i].Flags, " ") != strings.Join(b[i].Flags, " ") {
			t.Fatalf("message %d differs between two calls with one seed", i)
		}
	}
	if bytes.Equal(Generate(1, 43, avg)[0].Body, a[0].Body) {
		t.Error("seed is ignored")
	}
	var total int
	var attach, replies int
	folders := make(map[string]bool)
	for _, m := range a {
		total += len(m.Body)
		folders[m.Folder] = true
		if bytes.Contains(m.Body, []byte("Content-Transfer-Encoding: base64")) {
			attach++
		}
		if bytes.Contains(m.Body, []byte("\r\nIn-Reply-To: ")) {
			replies++
		}
	}
	if mean := total / n; mean < avg*7/10 || mean > avg*13/10 {
		t.Errorf("mean size %d, want about %d", mean, avg)
	}
	if attach < n/20 || attach > n/5 || replies < n/5 || replies > n/2 {
		t.Errorf("%d attachments, %d replies in %d messages", attach, replies, n)
	}
	if len(folders) != len(genFolders) {
		t.Errorf("%d folders used, want %d", len(folders), len(genFolders))
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		msgs := Generate(100, 1, 50000)
		b.SetBytes(int64(len(msgs)) * 50000)
	}
}

func FuzzParseMailbox(f *testing.F) {
	f.Add(mailboxText)
	f.Add("=== INBOX | - | 2025-01-01T00:00:00Z\nattach: x\n\nbody\n")
	f.Fuzz(func(t *testing.T, text string) {
		msgs, err := parseMailbox(text)
		if err != nil {
			return
		}
		for _, m := range msgs {
			if formats.HeaderEnd(m.Body) == 0 && len(m.Body) > 0 {
				t.Fatalf("message starts with a blank line: %q", m.Body)
			}
		}
	})
}
