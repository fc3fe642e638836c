package formats

import (
	"testing"
)

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
