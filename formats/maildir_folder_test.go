package formats

import (
	"fmt"
	"strings"
	"testing"
)

func TestMaildirFolderPath(t *testing.T) {
	for _, tc := range []struct {
		folder, plusplus, fs string
	}{
		{"INBOX", "", ""},
		{"inbox", "", ""},
		{"Archive", ".Archive", "Archive"},
		{"Archive/2019", ".Archive.2019", "Archive/2019"},
		{"a.b", `.a\2eb`, "a.b"},
		{"Archive/a.b/c", `.Archive.a\2eb.c`, "Archive/a.b/c"},
		{`back\slash`, `.back\5cslash`, `back\5cslash`},
		{"~home", `.\7ehome`, `\7ehome`},
		{"x/~y", `.x.\7ey`, `x/\7ey`},
		{"~a/~b/c~", `.\7ea.\7eb.c~`, `\7ea/\7eb/c~`},
		{".hidden", `.\2ehidden`, ".hidden"},
		{"./x", `.\2e.x`, `\2e/x`},
		{"../x", `.\2e\2e.x`, `\2e./x`},
		{"INBOX/Sub", ".INBOX.Sub", "INBOX/Sub"},
		{"inbox/Sub", ".INBOX.Sub", "INBOX/Sub"},
		{"Entwürfe", ".Entw&APw-rfe", "Entw&APw-rfe"},
		{"台北/日本語", ".&U,BTFw-.&ZeVnLIqe-", "&U,BTFw-/&ZeVnLIqe-"},
		{"a&b", ".a&-b", "a&-b"},
		{"Ä.ö", `.&AMQ-\2e&APY-`, "&AMQ-.&APY-"},
	} {
		for _, l := range []struct{ layout, want string }{{"", tc.plusplus}, {LayoutMaildirPlusPlus, tc.plusplus}, {LayoutFS, tc.fs}} {
			got, err := MaildirFolderPath(tc.folder, l.layout)
			if err != nil || got != l.want {
				t.Errorf("MaildirFolderPath(%q, %q) = %q, %v; want %q", tc.folder, l.layout, got, err, l.want)
				continue
			}
			back, err := MaildirFolderName(got, l.layout)
			want := tc.folder
			if IsInbox(want) {
				want = "INBOX"
			}
			if strings.HasPrefix(want, "inbox/") {
				want = "INBOX" + want[5:]
			}
			if err != nil || back != want {
				t.Errorf("MaildirFolderName(%q, %q) = %q, %v; want %q", got, l.layout, back, err, want)
			}
		}
	}
}

func TestMaildirFolderPathRejects(t *testing.T) {
	for _, tc := range []struct{ folder, layout string }{
		{"", ""}, {"a//b", ""}, {"/a", ""}, {"a/", ""}, {"a\xffb", ""}, {"a\x00b", ""},
		{"cur", LayoutFS}, {"x/new", LayoutFS}, {"tmp", LayoutFS}, {"x", "mbox"},
	} {
		if got, err := MaildirFolderPath(tc.folder, tc.layout); err == nil {
			t.Errorf("MaildirFolderPath(%q, %q) = %q, want an error", tc.folder, tc.layout, got)
		}
	}
}

func TestMaildirFolderNameForeign(t *testing.T) {
	for _, tc := range []struct{ rel, layout, want string }{
		{`.a\2Eb`, "", "a.b"},               // upper-case hex, as Dovecot accepts
		{`.a\zz`, "", `a\zz`},               // not an escape
		{`.a\2`, "", `a\2`},                 // too short to be an escape
		{".Tom & Jerry", "", "Tom & Jerry"}, // not mUTF-7, but UTF-8
		{".Grüße", "", "Grüße"},             // raw UTF-8 (Dovecot's UTF-8 option)
		{".Sent Items", "", "Sent Items"},
		{".INBOX.Sub", "", "INBOX/Sub"},
		{"a.b/c", LayoutFS, "a.b/c"},
	} {
		got, err := MaildirFolderName(tc.rel, tc.layout)
		if err != nil || got != tc.want {
			t.Errorf("MaildirFolderName(%q, %q) = %q, %v; want %q", tc.rel, tc.layout, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ rel, layout string }{
		{"Archive", ""}, {".", ""}, {"..", ""}, {".a..b", ""}, {".a.", ""}, {`.\2f`, ""},
		{`.\ff`, ""}, {".\xe4", ""}, {`.a\00b`, ""}, {"a//b", LayoutFS},
	} {
		if got, err := MaildirFolderName(tc.rel, tc.layout); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.rel)) {
			t.Errorf("MaildirFolderName(%q, %q) = %q, %v; want an error naming the directory", tc.rel, tc.layout, got, err)
		}
	}
}

// FuzzMaildirFolderName checks that decoding any directory name neither
// panics nor yields a name that cannot be stored again, and that storing a
// decoded name and decoding it again gives the same name.
func FuzzMaildirFolderName(f *testing.F) {
	for _, s := range []string{".Archive.2019", `.a\2eb`, ".Entw&APw-rfe", ".&U,BTFw-.&ZeVnLIqe-", `.\7ehome`, ".a..b", "Archive/2019"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, rel string, fs bool) {
		layout := LayoutMaildirPlusPlus
		if fs {
			layout = LayoutFS
		}
		name, err := MaildirFolderName(rel, layout)
		if err != nil {
			return
		}
		path, err := MaildirFolderPath(name, layout)
		if err != nil {
			if fs {
				return // "cur", "new" and "tmp" levels cannot be written back
			}
			t.Fatalf("%q decoded to %q, which cannot be stored: %v", rel, name, err)
		}
		again, err := MaildirFolderName(path, layout)
		want := name
		if lv := strings.SplitN(want, "/", 2); IsInbox(lv[0]) {
			lv[0] = "INBOX"
			want = strings.Join(lv, "/")
		}
		if err != nil || again != want {
			t.Fatalf("%q → %q → %q → %q, %v", rel, name, path, again, err)
		}
	})
}
