package transfer

import (
	"regexp"
	"testing"
)

func TestMapFolder(t *testing.T) {
	maps := []FolderMapping{
		{Old: "Sent Items", New: "Sent"},
		{Old: "Archive/2019", New: "Kept"},
		{Pattern: regexp.MustCompile(`Archive/(\d+)`), New: "Old/$1"},
		{Pattern: regexp.MustCompile(`(?P<top>[^/]+)/Drafts`), New: "Drafts/${top}"},
	}
	for in, want := range map[string]string{
		"Sent Items":       "Sent",
		"Sent Items/2020":  "Sent/2020",
		"Archive/2019":     "Kept", // a prefix mapping comes first
		"Archive/2021":     "Old/2021",
		"Archive/2021/Q1":  "", // the pattern must match the whole name
		"Work/Drafts":      "Drafts/Work",
		"INBOX":            "",
		"Archive/abc":      "",
		"XArchive/2021":    "",
		"Archive/2021Beta": "",
	} {
		got, ok := mapFolder(in, maps)
		if want == "" {
			if ok {
				t.Errorf("%q mapped to %q, want unmapped", in, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("%q mapped to %q, %v; want %q", in, got, ok, want)
		}
	}
}
