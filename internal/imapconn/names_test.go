package imapconn

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFolderNames(t *testing.T) {
	slash := &ServerInfo{Delim: '/'}
	dot := &ServerInfo{Delim: '.', Prefix: "INBOX."}
	flat := &ServerInfo{}
	tests := []struct {
		info         *ServerInfo
		name, server string
		replaced     bool
	}{
		{slash, "INBOX", "INBOX", false},
		{slash, "inbox", "INBOX", false},
		{slash, "Archive/2019", "Archive/2019", false},
		{dot, "INBOX", "INBOX", false},
		{dot, "Archive/2019", "INBOX.Archive.2019", false},
		{dot, "Entwürfe & Co", "INBOX.Entwürfe & Co", false},
		{dot, "v1.2/x", "INBOX.v1_2.x", true},
		{flat, "a/b", "a_b", true},
	}
	for _, tt := range tests {
		got, replaced := tt.info.ToServer(tt.name)
		if got != tt.server || replaced != tt.replaced {
			t.Errorf("%v ToServer(%q) = %q, %v; want %q, %v", tt.info, tt.name, got, replaced, tt.server, tt.replaced)
		}
		if tt.replaced {
			continue
		}
		if back := tt.info.FromServer(got, tt.info.Delim); back != strings.Replace(tt.name, "inbox", "INBOX", 1) {
			t.Errorf("%v FromServer(%q) = %q, want %q", tt.info, got, back, tt.name)
		}
	}
	if got := dot.FromServer("INBOX.a/b.c", '.'); got != "a_b/c" {
		t.Errorf("FromServer with / in a level = %q", got)
	}
	if got := dot.Parents("INBOX.a.b.c"); strings.Join(got, ",") != "INBOX.a,INBOX.a.b" {
		t.Errorf("Parents = %v", got)
	}
	if got := slash.Parents("a/b"); strings.Join(got, ",") != "a" {
		t.Errorf("Parents = %v", got)
	}
}

// FuzzFolderNames: a transfer name without the server's delimiter survives
// the trip to the server and back, and mapping never panics.
func FuzzFolderNames(f *testing.F) {
	for _, s := range []string{"INBOX", "a/b/c", "Entwürfe & Co", "x.y", "", "/", "INBOX.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, info := range []*ServerInfo{{Delim: '/'}, {Delim: '.', Prefix: "INBOX."}, {}} {
			server, replaced := info.ToServer(name)
			info.Parents(server)
			back := info.FromServer(server, info.Delim)
			if replaced || !utf8.ValidString(name) || name == "" || strings.Contains(name, "//") ||
				strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.EqualFold(name, "INBOX") ||
				strings.HasPrefix(strings.ToUpper(name), "INBOX") {
				continue
			}
			if back != name {
				t.Fatalf("%v: %q → %q → %q", info, name, server, back)
			}
		}
	})
}
