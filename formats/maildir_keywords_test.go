package formats

import (
	"fmt"
	"testing"
)

func TestParseMaildirKeywords(t *testing.T) {
	data := "0 $Forwarded\n1 Work\r\n3 two words\n" +
		"nospace\n26 TooFar\n-1 Neg\nx Bad\n2 \n1 Other\n4 Work\n05 Padded\n\n"
	kw, skipped := ParseMaildirKeywords([]byte(data))
	want := MaildirKeywords{0: "$Forwarded", 1: "Work", 3: "two words"}
	if kw != want {
		t.Fatalf("ParseMaildirKeywords = %q, want %q", kw, want)
	}
	if len(skipped) != 8 {
		t.Fatalf("skipped %d lines, want 8: %q", len(skipped), skipped)
	}
	if got := string(kw.Marshal()); got != "0 $Forwarded\n1 Work\n3 two words\n" {
		t.Fatalf("Marshal = %q", got)
	}
	if l, ok := kw.Letter("work"); !ok || l != 'b' {
		t.Errorf("Letter(work) = %c, %v; keywords compare case-insensitively", l, ok)
	}
	if k, ok := kw.Keyword('d'); !ok || k != "two words" {
		t.Errorf("Keyword(d) = %q, %v", k, ok)
	}
	if _, ok := kw.Keyword('c'); ok {
		t.Error("Keyword(c) of a free letter")
	}
	if _, ok := kw.Keyword('A'); ok {
		t.Error("Keyword(A) of an upper-case letter")
	}
}

func TestMaildirKeywordsAdd(t *testing.T) {
	var kw MaildirKeywords
	kw[1] = "Existing"
	if l, added, ok := kw.Add("existing"); l != 'b' || added || !ok {
		t.Fatalf("Add(existing) = %c, %v, %v", l, added, ok)
	}
	if l, added, ok := kw.Add("First"); l != 'a' || !added || !ok {
		t.Fatalf("Add(First) = %c, %v, %v: want the first free letter", l, added, ok)
	}
	for i := 2; i < MaxMaildirKeywords; i++ {
		if _, _, ok := kw.Add(fmt.Sprintf("k%d", i)); !ok {
			t.Fatalf("Add #%d failed", i)
		}
	}
	if _, _, ok := kw.Add("TooMany"); ok {
		t.Fatal("a 27th keyword was given a letter")
	}
	again, skipped := ParseMaildirKeywords(kw.Marshal())
	if again != kw || len(skipped) != 0 {
		t.Fatalf("round trip of a full table: %q, skipped %q", again, skipped)
	}
}

// FuzzParseMaildirKeywords checks the parser never panics and that what it
// keeps survives Marshal and a second parse unchanged.
func FuzzParseMaildirKeywords(f *testing.F) {
	f.Add([]byte("0 $Forwarded\n1 Work\n"))
	f.Add([]byte("25 z\n0 a\n0 b\nxx\n"))
	f.Add([]byte("1 a\r\n1 b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kw, _ := ParseMaildirKeywords(data)
		again, skipped := ParseMaildirKeywords(kw.Marshal())
		if again != kw || len(skipped) != 0 {
			t.Fatalf("%q → %q → %q (skipped %q)", data, kw, again, skipped)
		}
	})
}
