package formats

import (
	"testing"
	"time"
)

func TestFingerprintIgnoresLineEndingsAndStoreHeaders(t *testing.T) {
	date := time.Date(2019, 3, 4, 5, 6, 7, 0, time.FixedZone("", 3600))
	lf := []byte("From: a@example.org\nMessage-ID: <x@example.org>\nSubject: hi\n\nbody\n")
	crlf := ToCRLF(lf)
	a := Fingerprint(lf, date)
	if b := Fingerprint(crlf, date.UTC()); a != b {
		t.Errorf("LF and CRLF forms differ: %s vs %s", a, b)
	}
	if b := Fingerprint(lf, date.Add(time.Second)); a == b {
		t.Error("a different date gives the same fingerprint")
	}
	odd := []byte("From: a@example.org\r\r\nSubject: hi\r\n\r\nbody\r\r\n")
	if Fingerprint(odd, date) != Fingerprint(ToLF(odd), date) {
		t.Error("a bare CR before a line end changes the header hash")
	}

	noID := []byte("From: a@example.org\nSubject: hi\nStatus: RO\nX-Keywords: Work\n\nbody\n")
	plain := []byte("From: a@example.org\nSubject: hi\n\nbody\n")
	if Fingerprint(noID, date) != Fingerprint(plain, date) {
		t.Error("store headers (Status, X-Keywords) change the header hash")
	}
	other := []byte("From: b@example.org\nSubject: hi\n\nbody\n")
	if Fingerprint(other, date) == Fingerprint(plain, date) {
		t.Error("different headers give the same fingerprint")
	}
}

func TestMessageID(t *testing.T) {
	for in, want := range map[string]string{
		"Message-ID: <a@b>\n\n":                "a@b",
		"message-id:   <a@b>  \r\n\r\n":        "a@b",
		"Message-Id:\n <folded@b>\n\n":         "folded@b",
		"Message-Id: bare@b\n\n":               "bare@b",
		"Subject: x\n\nMessage-ID: <body@b>\n": "",
		"Subject: no header end":               "",
		"":                                     "",
	} {
		if got := MessageID([]byte(in)); got != want {
			t.Errorf("MessageID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeaderEnd(t *testing.T) {
	for in, want := range map[string]int{
		"A: b\n\nbody":     6,
		"A: b\r\n\r\nbody": 8,
		"A: b\n":           5,
		"\nbody":           1,
		"A: b\n\r\r\nbody": 8,
		"":                 0,
	} {
		if got := HeaderEnd([]byte(in)); got != want {
			t.Errorf("HeaderEnd(%q) = %d, want %d", in, got, want)
		}
	}
}

func FuzzFingerprint(f *testing.F) {
	f.Add([]byte("Message-ID: <a@b>\r\n\r\nx"), int64(0))
	f.Add([]byte("\n\n\n"), int64(-1))
	f.Fuzz(func(t *testing.T, msg []byte, secs int64) {
		date := time.Unix(secs, 0)
		a := Fingerprint(msg, date)
		if len(a) != 32 {
			t.Fatalf("fingerprint %q is not 32 hex digits", a)
		}
		if b := Fingerprint(ToCRLF(msg), date); a != b {
			t.Fatalf("network form changed the fingerprint of %q", msg)
		}
		if b := Fingerprint(ToLF(msg), date); a != b {
			t.Fatalf("local form changed the fingerprint of %q", msg)
		}
	})
}

func TestFingerprintKeys(t *testing.T) {
	header := []byte("Subject: no date at all\n\nbody\n")
	stored := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	keys := FingerprintKeys(header, stored)
	if len(keys) != 2 || keys[0] != Fingerprint(header, stored) || keys[1] != Fingerprint(header, time.Time{}) {
		t.Fatalf("FingerprintKeys(dated) = %q", keys)
	}
	for _, undated := range []time.Time{{}, time.Unix(0, 0)} {
		keys := FingerprintKeys(header, undated)
		if len(keys) != 1 || keys[0] != Fingerprint(header, time.Time{}) {
			t.Errorf("FingerprintKeys(%v) = %q, want only the undated key", undated, keys)
		}
	}
}
