package pop3

import (
	"testing"
	"time"
)

func TestMessageDate(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	tests := []struct {
		name string
		msg  string
		want time.Time
	}{
		{"topmost received wins", "Received: from a by b; Tue, 02 Jan 2024 10:11:12 +0100\r\nReceived: from c by a; Tue, 02 Jan 2024 09:00:00 +0100\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody", utc(2024, 1, 2, 9, 11, 12)},
		{"received below date", "Date: Mon, 1 Jan 2024 00:00:00 +0000\nReceived: by b; Tue, 2 Jan 2024 00:00:05 +0000\n\n", utc(2024, 1, 2, 0, 0, 5)},
		{"folded received", "Received: from a (a [1.2.3.4])\r\n\tby b with ESMTPS id x\r\n\tfor <u@b>;\r\n Wed, 3 Jan 2024 12:00:00 -0000 (UTC)\r\n\r\n", utc(2024, 1, 3, 12, 0, 0)},
		{"semicolon in from part", "Received: from a (helo=x;y) by b; Thu, 4 Jan 2024 01:02:03 +0000\r\n\r\n", utc(2024, 1, 4, 1, 2, 3)},
		{"bad received falls back to date", "Received: from a by b; yesterday\r\nDate: Fri, 5 Jan 2024 06:07:08 +0000\r\n\r\n", utc(2024, 1, 5, 6, 7, 8)},
		{"received without date falls back to date", "Received: from a by b\r\nDate: Fri, 5 Jan 2024 06:07:08 +0000\r\n\r\n", utc(2024, 1, 5, 6, 7, 8)},
		{"only date", "Subject: x\r\nDate: Sat, 6 Jan 2024 23:59:59 +0200\r\n\r\n", utc(2024, 1, 6, 21, 59, 59)},
		{"date with comment", "Date: Sat, 6 Jan 2024 23:59:59 +0000 (GMT)\r\n\r\n", utc(2024, 1, 6, 23, 59, 59)},
		{"case-insensitive names", "RECEIVED: by b; Sun, 7 Jan 2024 00:00:00 +0000\r\n\r\n", utc(2024, 1, 7, 0, 0, 0)},
		{"nothing", "Subject: none\r\n\r\nDate: Sun, 7 Jan 2024 00:00:00 +0000\r\n", time.Time{}},
		{"header in body ignored", "Subject: x\n\nReceived: by b; Sun, 7 Jan 2024 00:00:00 +0000\n", time.Time{}},
		{"before 1970", "Date: Mon, 1 Jan 1900 00:00:00 +0000\r\n\r\n", time.Time{}},
		{"empty", "", time.Time{}},
		{"no header end", "Date: Mon, 8 Jan 2024 00:00:00 +0000", utc(2024, 1, 8, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MessageDate([]byte(tt.msg))
			if !got.Equal(tt.want) {
				t.Errorf("MessageDate = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzMessageDate(f *testing.F) {
	f.Add([]byte("Received: from a by b; Tue, 02 Jan 2024 10:11:12 +0100\r\n\r\n"))
	f.Add([]byte("Date: Sat, 6 Jan 2024 23:59:59 +0000 (GMT)\n\n"))
	f.Add([]byte("Received: ;\r\n\t(\r\n\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		d := MessageDate(msg)
		if !d.IsZero() && (d.Year() < 1970 || d.Year() > 9999) {
			t.Fatalf("date %v out of range", d)
		}
		if again := MessageDate(msg); !again.Equal(d) {
			t.Fatalf("not deterministic: %v then %v", d, again)
		}
	})
}

func TestParseServerError(t *testing.T) {
	tests := []struct {
		text, code, rest string
	}{
		{"[IN-USE] locked", "IN-USE", "locked"},
		{"[sys/temp] later", "SYS/TEMP", "later"},
		{"[AUTH]", "AUTH", ""},
		{"no code", "", "no code"},
		{"[unterminated", "", "[unterminated"},
		{"", "", ""},
	}
	for _, tt := range tests {
		e := parseServerError("h:1", "PASS", tt.text)
		if e.Code != tt.code || e.Text != tt.rest {
			t.Errorf("%q: code %q text %q, want %q %q", tt.text, e.Code, e.Text, tt.code, tt.rest)
		}
	}
}

func FuzzParseServerError(f *testing.F) {
	f.Add("[IN-USE] locked")
	f.Add("[]")
	f.Add("[SYS/TEMP/X] y")
	f.Fuzz(func(t *testing.T, text string) {
		e := parseServerError("h:1", "RETR", text)
		if e.Error() == "" {
			t.Fatal("empty error text")
		}
		_ = classify(e)
	})
}
