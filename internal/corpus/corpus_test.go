package corpus

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/formats"
)

func byName(t *testing.T, msgs []Message, name string) Message {
	t.Helper()
	for _, m := range msgs {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("corpus has no message %q", name)
	return Message{}
}

func TestLoadHostileCases(t *testing.T) {
	msgs, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 23 {
		t.Fatalf("got %d messages, want 23", len(msgs))
	}
	wantFolders := []string{"Archive", "Archive/2019", "Entwürfe", "INBOX", "a.b", `back\slash`, "日本語/テスト"}
	if got := Folders(msgs); strings.Join(got, "|") != strings.Join(wantFolders, "|") {
		t.Errorf("folders %q, want %q", got, wantFolders)
	}

	checks := []struct {
		name string
		ok   func(b []byte) bool
		what string
	}{
		{"from-lines.eml", func(b []byte) bool {
			return bytes.Contains(b, []byte("\n>>From a doubly")) && bytes.Contains(b, []byte("\n\nFrom bob@example.net Sun Mar"))
		}, "From_, >From and >>From lines"},
		{"no-final-newline.eml", func(b []byte) bool { return !bytes.HasSuffix(b, []byte("\n")) }, "no final newline"},
		{"crlf.eml", func(b []byte) bool { return bytes.Count(b, []byte("\r\n")) == bytes.Count(b, []byte("\n")) }, "only CRLF"},
		{"mixed-endings.eml", func(b []byte) bool {
			return bytes.Contains(b, []byte("\r\n")) && bytes.Contains(b, []byte("bare CR\rin")) && bytes.Contains(b, []byte("LF line\n"))
		}, "mixed endings"},
		{"nul-bytes.eml", func(b []byte) bool { return bytes.Count(b, []byte{0}) == 6 }, "six NUL bytes"},
		{"latin1-header.eml", func(b []byte) bool { return bytes.Contains(b, []byte("Caf\xe9")) }, "raw Latin-1"},
		{"utf8-header.eml", func(b []byte) bool { return bytes.Contains(b, []byte("Subject: Grüße")) }, "raw UTF-8"},
		{"long-header.eml", func(b []byte) bool {
			return bytes.Count(b[:formats.HeaderEnd(b)], []byte("\n")) == 306
		}, "306 header lines (300 Received lines)"},
		{"empty-body.eml", func(b []byte) bool { return formats.HeaderEnd(b) == len(b) && bytes.HasSuffix(b, []byte("\n\n")) }, "empty body"},
		{"headers-only.eml", func(b []byte) bool { return !bytes.Contains(b, []byte("\n\n")) }, "no blank line"},
		{"store-headers.eml", func(b []byte) bool {
			return bytes.Contains(b, []byte("\nStatus: RO\n")) && bytes.Contains(b, []byte("\nContent-Length: 33\n")) &&
				len(b)-formats.HeaderEnd(b) == 33
		}, "Status and an exact Content-Length"},
		{"content-length-liar.eml", func(b []byte) bool {
			body := b[formats.HeaderEnd(b):]
			return bytes.Contains(b, []byte("\nContent-Length: 4\n")) && bytes.HasPrefix(body[4:], []byte("From liar@example.com "))
		}, "a Content-Length ending just before a From_ line"},
		{"dots.eml", func(b []byte) bool { return bytes.Contains(b, []byte("\n.\n..\n")) }, "dot lines"},
		{"no-message-id.eml", func(b []byte) bool { return formats.MessageID(b) == "" }, "no Message-ID"},
		{"attachment-3mb", func(b []byte) bool { return len(b) > 3<<20 && len(b) < 5<<20 }, "about 3 MB"},
		{"long-line", func(b []byte) bool { return bytes.Count(b, []byte("\n")) == 7 && len(b) > 200000 }, "one long line"},
		{"trailing-blank-lines.eml", func(b []byte) bool { return bytes.HasSuffix(b, []byte(".\n\n\n\n")) }, "trailing blank lines"},
		{"from-first-line.eml", func(b []byte) bool { return bytes.HasPrefix(b, []byte("From someone@")) }, "From_ first line"},
	}
	for _, c := range checks {
		if m := byName(t, msgs, c.name); !c.ok(m.Body) {
			t.Errorf("%s: want %s", c.name, c.what)
		}
	}

	a, b := byName(t, msgs, "duplicate.eml"), byName(t, msgs, "duplicate.eml#2")
	if a.Folder != b.Folder || !bytes.Equal(a.Body, b.Body) || !a.Date.Equal(b.Date) {
		t.Error("the two duplicate copies differ")
	}
	all := byName(t, msgs, "all-flags.eml")
	if got := formats.NormalizeFlags(all.Flags); len(got) != 10 {
		t.Errorf("all-flags.eml flags %q", got)
	}
	years := make(map[int]bool)
	zones := make(map[int]bool)
	for _, m := range msgs {
		years[m.Date.Year()] = true
		_, off := m.Date.Zone()
		zones[off] = true
		if m.Date.Year() < 1998 || m.Date.Year() > 2026 {
			t.Errorf("%s: date %v out of range", m.Name, m.Date)
		}
	}
	if len(years) < 15 || len(zones) < 8 {
		t.Errorf("dates span %d years and %d zones, want a wide spread", len(years), len(zones))
	}
}

func TestGeneratedDeterministic(t *testing.T) {
	a, b := Attachment(1<<16, 7), Attachment(1<<16, 7)
	if !bytes.Equal(a, b) {
		t.Fatal("Attachment is not deterministic")
	}
	if bytes.Equal(a, Attachment(1<<16, 8)) {
		t.Fatal("Attachment ignores its seed")
	}
	if !bytes.Equal(longLine(), longLine()) {
		t.Fatal("longLine is not deterministic")
	}
}

func TestLoadDirErrors(t *testing.T) {
	cases := map[string]string{
		"missing file":  `{"messages":[{"file":"nope.eml","folder":"INBOX","date":"2000-01-01T00:00:00Z"}]}`,
		"bad date":      `{"messages":[{"file":"a.eml","folder":"INBOX","date":"yesterday"}]}`,
		"no folder":     `{"messages":[{"file":"a.eml","date":"2000-01-01T00:00:00Z"}]}`,
		"bad generator": `{"messages":[{"generate":"x","folder":"INBOX","date":"2000-01-01T00:00:00Z"}]}`,
		"not json":      `{`,
	}
	for name, man := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "a.eml"), []byte("Subject: a\n\nb\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(man), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "manifest.json") {
				t.Fatalf("LoadDir: err %v, want an error naming manifest.json", err)
			}
		})
	}
}
