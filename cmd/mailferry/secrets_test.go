package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/imapserver"
)

// TestSecretCommandsSeeOnlyTheirOwnEnd: each end's password command runs
// without the other end's password variable, and a plaintext endpoint gets
// a warning, also with -q.
func TestSecretCommandsSeeOnlyTheirOwnEnd(t *testing.T) {
	t.Parallel()
	srv, err := imapserver.Start(imapserver.Options{Users: []imapserver.User{{Name: "old", Password: "old-pw"}, {Name: "new", Password: "new-pw"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	body := []byte(strings.ReplaceAll(message("INBOX", 1, 200).body, "\n", "\r\n"))
	if err := srv.AddMessage("old", "INBOX", nil, time.Unix(1700000000, 0), body); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srcEnv, dstEnv := filepath.Join(dir, "source.env"), filepath.Join(dir, "dest.env")
	env := []string{"MAILFERRY_SOURCE_PASSWORD=source-secret-from-env", "MAILFERRY_DEST_PASSWORD=dest-secret-from-env"}
	r := mailferry(t, env, "copy", "-q", "imap://old@"+srv.Addr()+"?tls=none", "imap://new@"+srv.Addr()+"?tls=none",
		"--source-password-command", "env > "+srcEnv+"; echo old-pw",
		"--dest-password-command", "env > "+dstEnv+"; echo new-pw")
	expectCode(t, r, exitOK)
	for _, tc := range []struct{ file, has, hasNot string }{
		{srcEnv, "MAILFERRY_SOURCE_PASSWORD=source-secret-from-env", "MAILFERRY_DEST_PASSWORD"},
		{dstEnv, "MAILFERRY_DEST_PASSWORD=dest-secret-from-env", "MAILFERRY_SOURCE_PASSWORD"},
	} {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(b); !strings.Contains(got, tc.has+"\n") || strings.Contains(got, tc.hasNot) || !strings.Contains(got, "HOME=") {
			t.Errorf("%s: want %s and the rest of the environment, without %s; got:\n%s", filepath.Base(tc.file), tc.has, tc.hasNot, got)
		}
	}
	for _, want := range []string{
		"WARNING: source imap://old@" + srv.Addr() + "?tls=none: ?tls=none: the password (or token) and the mail cross the network unencrypted.",
		"WARNING: destination imap://new@" + srv.Addr() + "?tls=none: ?tls=none: the password (or token) and the mail cross the network unencrypted.",
		"WARNING: use imaps:// or imap:// (with STARTTLS) unless the server is on this machine.",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("with -q, stderr lacks %q:\n%s", want, r)
		}
	}
	// Every run warns, not just the first.
	r = mailferry(t, env, "copy", "-q", "imap://old@"+srv.Addr()+"?tls=none", "imap://new@"+srv.Addr()+"?tls=none",
		"--source-password-command", "echo old-pw", "--dest-password-command", "echo new-pw")
	expectCode(t, r, exitOK)
	if n := strings.Count(r.stderr, "cross the network unencrypted"); n != 2 {
		t.Errorf("the second run warned %d times, want 2:\n%s", n, r)
	}
	r = mailferry(t, env, "folders", "imap://old@"+srv.Addr()+"?tls=none", "--source-password-command", "echo old-pw")
	expectCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "cross the network unencrypted") {
		t.Errorf("folders did not warn:\n%s", r)
	}
}

// The token command of one end does not see the other end's password
// variable either.
func TestTokenCommandSeesOnlyItsOwnEnd(t *testing.T) {
	t.Setenv("MAILFERRY_SOURCE_PASSWORD", "source-secret")
	t.Setenv("MAILFERRY_DEST_PASSWORD", "dest-secret")
	out := filepath.Join(t.TempDir(), "env")
	ep := Endpoint{Scheme: "imaps", User: "u", Host: "127.0.0.1", Port: "993"}
	s := secretSource{role: "destination", flagPrefix: "dest", oauth2Cmd: "env > " + out + "; echo tok", envVar: "MAILFERRY_DEST_PASSWORD"}
	var stderr bytes.Buffer
	cred, err := credentials(context.Background(), ep, s, terminal{stderr: &stderr, env: os.LookupEnv}, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := cred.OAuth2Token(context.Background()); err != nil || tok != "tok" {
		t.Fatalf("token %q, %v", tok, err)
	}
	b, _ := os.ReadFile(out)
	if got := string(b); strings.Contains(got, "MAILFERRY_SOURCE_PASSWORD") || !strings.Contains(got, "MAILFERRY_DEST_PASSWORD=dest-secret") {
		t.Errorf("the destination's token command saw:\n%s", got)
	}
}

func TestSecretCommandEnv(t *testing.T) {
	in := []string{"PATH=/bin", "MAILFERRY_SOURCE_PASSWORD=a", "MAILFERRY_DEST_PASSWORD=b", "MAILFERRY_SOURCE_PASSWORDX=c", "HOME=/h"}
	got := strings.Join(secretCommandEnv(in, "MAILFERRY_SOURCE_PASSWORD"), " ")
	if want := "PATH=/bin MAILFERRY_SOURCE_PASSWORD=a MAILFERRY_SOURCE_PASSWORDX=c HOME=/h"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A password command of one end does not see the variable the other end
// reads its password from with --X-password-env.
func TestSecretCommandEnvHidesTheOtherEndsVariable(t *testing.T) {
	in := []string{"PATH=/bin", "ALICE_OLD=a", "ALICE_NEW=b", "MAILFERRY_DEST_PASSWORD=c"}
	got := strings.Join(secretCommandEnv(in, "ALICE_OLD", "ALICE_NEW"), " ")
	if want := "PATH=/bin ALICE_OLD=a"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestPasswordEnvMustBeSet(t *testing.T) {
	src, _ := smallMaildir(t)
	r := mailferry(t, []string{"MAILFERRY_DEST_PASSWORD=x"}, "copy", "maildir:"+src, "imap://u@127.0.0.1:1?tls=none", "--dest-password-env", "NEW_PW")
	expectCode(t, r, 2)
	if !strings.Contains(r.stderr, "mailferry: --dest-password-env NEW_PW: the environment variable is not set") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}
