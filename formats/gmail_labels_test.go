package formats

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseGmailLabels(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"Inbox,Opened", []string{"Inbox", "Opened"}},
		{" Archived , Category Updates,Opened ", []string{"Archived", "Category Updates", "Opened"}},
		{`Inbox,"Kunden, alt","say ""hi""",Work/2024`, []string{"Inbox", "Kunden, alt", `say "hi"`, "Work/2024"}},
		{"=?UTF-8?Q?Inbox,Entw=C3=BCrfe_alt,Opened?=", []string{"Inbox", "Entwürfe alt", "Opened"}},
		{"Inbox,\r\n Opened", []string{"Inbox", "Opened"}},
		{",,", nil},
		{"", nil},
	} {
		if got := ParseGmailLabels(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseGmailLabels(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGmailPlacement(t *testing.T) {
	archive := GmailFolder{"Archive", `\Archive`}
	inbox := GmailFolder{"INBOX", ""}
	sent := GmailFolder{"Sent", `\Sent`}
	for _, tt := range []struct {
		labels  string
		folders []GmailFolder
		flags   []string
	}{
		{"Inbox,Opened", []GmailFolder{inbox}, []string{FlagSeen}},
		{"Inbox,Unread,Important,Category Promotions", []GmailFolder{inbox}, nil},
		{"Work,Inbox,Starred,Opened,Work/2024", []GmailFolder{inbox, {Name: "Work"}, {Name: "Work/2024"}}, []string{FlagFlagged, FlagSeen}},
		{"Sent,Inbox,Opened", []GmailFolder{inbox, sent}, []string{FlagSeen}},
		{"Archived,Opened", []GmailFolder{archive}, []string{FlagSeen}},
		{"Important", []GmailFolder{archive}, nil},
		{"", []GmailFolder{archive}, nil},
		{"Drafts", []GmailFolder{{"Drafts", `\Drafts`}}, []string{FlagDraft}},
		{"Spam,Unread,Opened", []GmailFolder{{"Junk", `\Junk`}}, nil},
		{"Inbox,Trash,Work", []GmailFolder{{"Trash", `\Trash`}, inbox, {Name: "Work"}}, nil},
		{"Chat,Opened", []GmailFolder{{Name: "Chat"}}, []string{FlagSeen}},
	} {
		folders, flags := GmailPlacement(ParseGmailLabels(tt.labels))
		if len(flags) == 0 {
			flags = nil
		}
		if !reflect.DeepEqual(folders, tt.folders) || !reflect.DeepEqual(flags, tt.flags) {
			t.Errorf("GmailPlacement(%q) = %v %q, want %v %q", tt.labels, folders, flags, tt.folders, tt.flags)
		}
	}
}

// FuzzGmailLabels: every value places a message in at least one folder,
// each folder once and none with an empty name; labels are trimmed and
// flags are only those labels stand for.
func FuzzGmailLabels(f *testing.F) {
	for _, s := range []string{"Inbox,Opened", `"a,b",""""`, "=?UTF-8?Q?Entw=C3=BCrfe?=", "Archived", ",\"", "=?x?q?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		labels := ParseGmailLabels(v)
		for _, l := range labels {
			if l == "" || l != strings.TrimSpace(l) || strings.ContainsAny(l, "\r\n") {
				t.Fatalf("%q: label %q", v, l)
			}
		}
		folders, flags := GmailPlacement(labels)
		if len(folders) == 0 {
			t.Fatalf("%q: no folder", v)
		}
		seen := map[string]bool{}
		for _, f := range folders {
			if f.Name == "" || seen[f.Name] {
				t.Fatalf("%q: folders %v", v, folders)
			}
			seen[f.Name] = true
		}
		for _, fl := range flags {
			if fl != FlagSeen && fl != FlagFlagged && fl != FlagDraft {
				t.Fatalf("%q: flag %q", v, fl)
			}
		}
	})
}
