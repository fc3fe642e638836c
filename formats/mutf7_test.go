package formats

import (
	"errors"
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

var mutf7Vectors = []struct{ utf8, mutf7 string }{
	{"", ""},
	{"INBOX", "INBOX"},
	{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"}, // RFC 3501 §5.1.3
	{"Entwürfe", "Entw&APw-rfe"},
	{"&", "&-"},
	{"Tom & Jerry", "Tom &- Jerry"},
	{"Ä", "&AMQ-"},
	{"Входящие", "&BBIERQQ+BDQETwRJBDgENQ-"},
	{"😀", "&2D3eAA-"},
	{"a\x01b", "a&AAE-b"},
	{"ä&ö", "&AOQ-&-&APY-"},
	{"\u007f", "&AH8-"},
}

func TestMUTF7Vectors(t *testing.T) {
	for _, v := range mutf7Vectors {
		got, err := EncodeMUTF7(v.utf8)
		if err != nil || got != v.mutf7 {
			t.Errorf("EncodeMUTF7(%q) = %q, %v; want %q", v.utf8, got, err, v.mutf7)
		}
		back, err := DecodeMUTF7(v.mutf7)
		if err != nil || back != v.utf8 {
			t.Errorf("DecodeMUTF7(%q) = %q, %v; want %q", v.mutf7, back, err, v.utf8)
		}
	}
}

func TestDecodeMUTF7Rejects(t *testing.T) {
	for in, reason := range map[string]string{
		"&":           "no closing '-'",
		"&U,BTFw":     "no closing '-'",
		"&AGE-":       "must not be encoded",
		"&Jjo!-":      "alphabet",
		"caf\xc3\xa9": "not printable ASCII",
		"tab\there":   "not printable ASCII",
		"&AMQ-&AMQ-":  "written as one",
		"&2D0-":       "unpaired",
		"&3gA-":       "unpaired",
		"&AMR-":       "padding",
		"&AMQA-":      "stray",
		"&A-":         "stray",
		"&2D3YPQ-":    "surrogate",
	} {
		_, err := DecodeMUTF7(in)
		var me *MUTF7Error
		if !errors.As(err, &me) {
			t.Errorf("DecodeMUTF7(%q) error = %v, want a *MUTF7Error", in, err)
			continue
		}
		if !strings.Contains(err.Error(), reason) || !strings.Contains(err.Error(), "at byte") {
			t.Errorf("DecodeMUTF7(%q) error %q does not say %q and where", in, err, reason)
		}
	}
}

func TestEncodeMUTF7RejectsInvalidUTF8(t *testing.T) {
	if _, err := EncodeMUTF7("a\xffb"); err == nil {
		t.Fatal("EncodeMUTF7 accepted invalid UTF-8")
	}
}

// TestMUTF7RoundTripProperty encodes random strings drawn from ASCII,
// Latin, CJK and astral-plane runes and checks that decoding gives them back.
func TestMUTF7RoundTripProperty(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	ranges := [][2]rune{{0, 0x7f}, {0x80, 0x7ff}, {0x4e00, 0x9fff}, {0xe000, 0xfffd}, {0x10000, 0x10ffff}}
	for n := 0; n < 5000; n++ {
		var b strings.Builder
		for l := rng.Intn(12); l > 0; l-- {
			r := ranges[rng.Intn(len(ranges))]
			c := r[0] + rune(rng.Intn(int(r[1]-r[0]+1)))
			if !utf8.ValidRune(c) {
				continue
			}
			b.WriteRune(c)
		}
		s := b.String()
		enc, err := EncodeMUTF7(s)
		if err != nil {
			t.Fatalf("EncodeMUTF7(%q): %v", s, err)
		}
		for i := 0; i < len(enc); i++ {
			if enc[i] < 0x20 || enc[i] > 0x7e {
				t.Fatalf("EncodeMUTF7(%q) = %q holds a non-printable byte", s, enc)
			}
		}
		dec, err := DecodeMUTF7(enc)
		if err != nil || dec != s {
			t.Fatalf("DecodeMUTF7(EncodeMUTF7(%q)) = %q, %v", s, dec, err)
		}
	}
}

// FuzzDecodeMUTF7 checks the decoder never panics and accepts only
// canonical input: whatever it decodes re-encodes to the same bytes.
func FuzzDecodeMUTF7(f *testing.F) {
	for _, v := range mutf7Vectors {
		f.Add(v.mutf7)
	}
	f.Add("&AMQ-&AMQ-")
	f.Add("&2D0-")
	f.Fuzz(func(t *testing.T, s string) {
		dec, err := DecodeMUTF7(s)
		if err != nil {
			return
		}
		enc, err := EncodeMUTF7(dec)
		if err != nil {
			t.Fatalf("decoded %q to invalid UTF-8 %q: %v", s, dec, err)
		}
		if enc != s {
			t.Fatalf("DecodeMUTF7(%q) = %q re-encodes to %q", s, dec, enc)
		}
	})
}
