package formats

import (
	"reflect"
	"testing"
)

func TestNormalizeFlags(t *testing.T) {
	got := NormalizeFlags([]string{`\seen`, `\SEEN`, "", `\Recent`, "$forwarded", "Work", " Work ", `\Flagged`})
	want := []string{"$Forwarded", "Work", `\Flagged`, `\Seen`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("NormalizeFlags = %q, want %q", got, want)
	}
}

func TestMaildirLetters(t *testing.T) {
	for letter, flag := range map[byte]string{'D': FlagDraft, 'F': FlagFlagged, 'P': FlagForwarded, 'R': FlagAnswered, 'S': FlagSeen, 'T': FlagDeleted} {
		if got, ok := MaildirFlag(letter); !ok || got != flag {
			t.Errorf("MaildirFlag(%c) = %q, %v; want %q", letter, got, ok, flag)
		}
		if got, ok := MaildirLetter(flag); !ok || got != letter {
			t.Errorf("MaildirLetter(%q) = %c, %v; want %c", flag, got, ok, letter)
		}
	}
	if _, ok := MaildirLetter("Work"); ok {
		t.Error("a keyword has no Maildir letter")
	}
	if _, ok := MaildirFlag('a'); ok {
		t.Error("lower-case letters are keywords, not flags")
	}
}

func TestValidKeyword(t *testing.T) {
	for k, want := range map[string]bool{
		"$Forwarded": true, "Work": true, "$label1": true, "NonJunk": true,
		"": false, `\Seen`: false, "two words": false, "[Gmail]Label": false, "a]b": false,
		"quo\"te": false, "paren(": false, "Grüße": false, "tab\t": false, "brace{": false,
	} {
		if got := ValidKeyword(k); got != want {
			t.Errorf("ValidKeyword(%q) = %v, want %v", k, got, want)
		}
	}
}
