package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/account"
)

func TestParseEndpointValid(t *testing.T) {
	cwd, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	tests := []struct {
		in   string
		want Endpoint
		str  string
	}{
		{"imaps://alice@imap.example.com", Endpoint{Scheme: "imaps", User: "alice", Host: "imap.example.com", Port: "993", Security: account.SecurityTLS}, "imaps://alice@imap.example.com:993"},
		{"imaps://alice@imap.example.com:1993/", Endpoint{Scheme: "imaps", User: "alice", Host: "imap.example.com", Port: "1993", Security: account.SecurityTLS}, "imaps://alice@imap.example.com:1993"},
		{"imap://bob@10.0.0.1", Endpoint{Scheme: "imap", User: "bob", Host: "10.0.0.1", Port: "143", Security: account.SecurityStartTLS}, "imap://bob@10.0.0.1:143"},
		{"imap://bob@127.0.0.1:1143?tls=none", Endpoint{Scheme: "imap", User: "bob", Host: "127.0.0.1", Port: "1143", Security: account.SecurityNone}, "imap://bob@127.0.0.1:1143?tls=none"},
		{"imap://bob@host?tls=starttls", Endpoint{Scheme: "imap", User: "bob", Host: "host", Port: "143", Security: account.SecurityStartTLS}, "imap://bob@host:143"},
		{"IMAPS://alice%40example.com@mail.example.com", Endpoint{Scheme: "imaps", User: "alice@example.com", Host: "mail.example.com", Port: "993", Security: account.SecurityTLS}, "imaps://alice%40example.com@mail.example.com:993"},
		{"imaps://a%2Bb@[::1]:9993", Endpoint{Scheme: "imaps", User: "a+b", Host: "::1", Port: "9993", Security: account.SecurityTLS}, "imaps://a+b@[::1]:9993"},
		{"pop3s://carol@pop.example.com", Endpoint{Scheme: "pop3s", User: "carol", Host: "pop.example.com", Port: "995", Security: account.SecurityTLS}, "pop3s://carol@pop.example.com:995"},
		{"pop3://carol@pop.example.com", Endpoint{Scheme: "pop3", User: "carol", Host: "pop.example.com", Port: "110", Security: account.SecurityStartTLS}, "pop3://carol@pop.example.com:110"},
		{"pop3://carol@127.0.0.1:2110?tls=none", Endpoint{Scheme: "pop3", User: "carol", Host: "127.0.0.1", Port: "2110", Security: account.SecurityNone}, "pop3://carol@127.0.0.1:2110?tls=none"},
		{"maildir:/var/mail/alice", Endpoint{Scheme: "maildir", Path: "/var/mail/alice"}, "maildir:/var/mail/alice"},
		{"maildir:Mail", Endpoint{Scheme: "maildir", Path: filepath.Join(cwd, "Mail")}, "maildir:" + filepath.Join(cwd, "Mail")},
		{"maildir:/m?layout=fs", Endpoint{Scheme: "maildir", Path: "/m", Layout: "fs"}, "maildir:/m?layout=fs"},
		{"maildir:///abs/dir", Endpoint{Scheme: "maildir", Path: "/abs/dir"}, "maildir:/abs/dir"},
		{"maildir:~/Maildir", Endpoint{Scheme: "maildir", Path: filepath.Join(home, "Maildir")}, "maildir:" + filepath.Join(home, "Maildir")},
		{"mbox:/backup/alice.mbox", Endpoint{Scheme: "mbox", Path: "/backup/alice.mbox"}, "mbox:/backup/alice.mbox"},
		{"mbox:./old/", Endpoint{Scheme: "mbox", Path: filepath.Join(cwd, "old")}, "mbox:" + filepath.Join(cwd, "old")},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseEndpoint("source", tt.in)
			if err != nil {
				t.Fatalf("parseEndpoint(%q): %v", tt.in, err)
			}
			tt.want.Raw = tt.in
			if got != tt.want {
				t.Errorf("parseEndpoint(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
		})
	}
}

func TestParseEndpointInvalid(t *testing.T) {
	tests := []struct {
		in      string
		wantMsg string
	}{
		{"", "empty"},
		{"/home/me/Mail", "maildir:/home/me/Mail or mbox:/home/me/Mail"},
		{"imasp://alice@host", `did you mean imaps?`},
		{"maildri:/x", `did you mean maildir?`},
		{"ftp://alice@host", `unknown scheme "ftp"`},
		{"imaps:alice@host", "expected imaps://USER@HOST"},
		{"imaps://host", "no user name"},
		{"imaps://@host", "no user name"},
		{"imaps://alice@", "no host name"},
		{"imaps://alice@host:", "empty port"},
		{"imaps://alice@host:abc", "invalid port"},
		{"imaps://alice@host/INBOX", "use --include"},
		{"imaps://alice@host?tls=none", "always uses TLS"},
		{"imap://alice@host?tls=off", "tls=off"},
		{"imap://alice@host?foo=1", `unknown option "foo"`},
		{"imap://alice@host#x", "fragment"},
		{"maildir:", "no path"},
		{"mbox:", "no path"},
		{"maildir://relative", "write maildir:PATH"},
		{"maildir:/x?layout=weird", "layout=weird"},
		{"mbox:/x?layout=fs", `unknown option "layout"`},
		{"maildir:/x?a=%zz", "bad option"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := parseEndpoint("source", tt.in)
			if err == nil {
				t.Fatalf("parseEndpoint(%q) succeeded, want an error", tt.in)
			}
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Errorf("error %v is not a usage error", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("error %q does not contain %q", msg, tt.wantMsg)
			}
			if !strings.Contains(msg, "valid forms") {
				t.Errorf("error %q does not show the valid forms", msg)
			}
			if tt.in != "" && !strings.Contains(msg, tt.in) {
				t.Errorf("error %q does not name the endpoint %q", msg, tt.in)
			}
		})
	}
}

func TestParseEndpointRejectsPassword(t *testing.T) {
	for _, role := range []string{"source", "destination"} {
		_, err := parseEndpoint(role, "imaps://alice:hunter2@imap.example.com")
		if err == nil {
			t.Fatalf("%s: password in URL accepted", role)
		}
		msg := err.Error()
		if strings.Contains(msg, "hunter2") {
			t.Errorf("the error repeats the password: %q", msg)
		}
		flag := map[string]string{"source": "--source-password-file", "destination": "--dest-password-file"}[role]
		if !strings.Contains(msg, flag) {
			t.Errorf("error %q does not advise %s", msg, flag)
		}
		if exitCode(err) != exitUsage {
			t.Errorf("exit code %d, want %d", exitCode(err), exitUsage)
		}
	}
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"imaps://a@b", "imap://a%40b@c:1?tls=none", "maildir:/x?layout=fs", "mbox:x", "pop3://u@[::1]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ep, err := parseEndpoint("source", s)
		if err != nil {
			if exitCode(err) != exitUsage {
				t.Fatalf("error %v is not a usage error", err)
			}
			return
		}
		// The canonical spelling parses back to the same endpoint.
		again, err := parseEndpoint("source", ep.String())
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", ep.String(), s, err)
		}
		again.Raw = ep.Raw
		if again != ep {
			t.Fatalf("round trip of %q: %+v != %+v", s, again, ep)
		}
	})
}

func TestNestedEndpoints(t *testing.T) {
	dir := t.TempDir()
	ep := func(raw string) Endpoint {
		t.Helper()
		e, err := parseEndpoint("test", raw)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"maildir:" + dir + "/Mail", "mbox:" + dir + "/Mail/cur", true},
		{"mbox:" + dir + "/old", "maildir:" + dir, true},
		{"maildir:" + dir + "/Mail", "maildir:" + dir + "/Mail/", true},
		{"maildir:" + dir + "/Mail", "mbox:" + dir + "/Mail.mbox", false},
		{"maildir:" + dir + "/Mail", "mbox:" + dir + "/Mailbackup", false},
		{"maildir:" + dir + "/a", "maildir:" + dir + "/b", false},
		{"imaps://u@" + "example.org", "maildir:" + dir, false},
	} {
		if got := nested(ep(tc.a), ep(tc.b)); got != tc.want {
			t.Errorf("nested(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
