package main

import (
	"crypto/tls"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/imapserver"
)

// startIMAP serves alice's mailbox (INBOX, Sent with \Sent, Archive/2019)
// with TLS, and returns the server and a PEM file of its certificate.
func startIMAP(t *testing.T) (*imapserver.Server, string) {
	t.Helper()
	srv, ca := startIMAPWith(t, []imapserver.User{{Name: "alice@example.com", Password: "s3cret"}})
	for i, folder := range []string{"INBOX", "INBOX", "Sent", "Archive/2019"} {
		m := message(folder, i, 300)
		body := []byte(strings.ReplaceAll(m.body, "\n", "\r\n"))
		if err := srv.AddMessage("alice@example.com", folder, []string{`\Seen`}, time.Unix(1700000000+int64(i), 0), body); err != nil {
			t.Fatal(err)
		}
	}
	return srv, ca
}

// startIMAPWith serves empty accounts for users (Sent with \Sent) with
// TLS, and returns the server and a PEM file of its certificate.
func startIMAPWith(t *testing.T, users []imapserver.User) (*imapserver.Server, string) {
	t.Helper()
	srv, err := imapserver.Start(imapserver.Options{
		Users:      users,
		SpecialUse: map[string]string{"Sent": `\Sent`},
		TLS:        true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	// The certificate as a user would save it from the server.
	conn, err := tls.Dial("tcp", srv.TLSAddr(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: conn.ConnectionState().PeerCertificates[0].Raw})
	conn.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, ca
}

func TestIMAPFolders(t *testing.T) {
	srv, ca := startIMAP(t)
	ep := "imaps://alice%40example.com@" + srv.TLSAddr()
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, "folders", ep, "--ca-file", ca)
	expectCode(t, r, 0)
	for _, want := range []string{"INBOX", "Sent", `\Sent`, "Archive/2019", "total"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("folders lacks %q:\n%s", want, r)
		}
	}
	r = mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, "folders", "--probe", ep, "--ca-file", ca)
	expectCode(t, r, 0)
	if !strings.Contains(strings.ToUpper(r.stdout), "IMAP4REV1") {
		t.Errorf("--probe does not show the capabilities:\n%s", r)
	}
}

func TestIMAPCertificateChecked(t *testing.T) {
	srv, _ := startIMAP(t)
	ep := "imaps://alice%40example.com@" + srv.TLSAddr()
	// A self-signed certificate is refused unless trusted ...
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, "folders", ep)
	expectCode(t, r, exitFailed)
	if !strings.Contains(r.stderr, srv.TLSAddr()) {
		t.Errorf("the error does not name the server:\n%s", r)
	}
	// ... or checks are switched off, loudly.
	r = mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, "folders", ep, "--insecure-skip-verify", "--json")
	expectCode(t, r, 0)
	if !strings.Contains(r.stderr, "NOT checked") {
		t.Errorf("no warning for --insecure-skip-verify:\n%s", r)
	}
}

// A wrong password fails the run with an error naming user and server,
// and leaves nothing behind: no new Maildir, and in one a run made before,
// the state file as it was.
func TestIMAPWrongPassword(t *testing.T) {
	srv, ca := startIMAP(t)
	src := "imap://alice%40example.com@" + srv.Addr()
	dst := filepath.Join(t.TempDir(), "d")
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=wrong"}, "copy", src, "maildir:"+dst, "--ca-file", ca)
	expectCode(t, r, exitFailed)
	if !strings.Contains(r.stderr, "alice@example.com") || !strings.Contains(r.stderr, srv.Addr()) {
		t.Errorf("the error does not name user and server:\n%s", r)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("the failed run left %s behind (%v)", dst, err)
	}

	expectCode(t, mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, "copy", src, "maildir:"+dst, "--ca-file", ca), 0)
	state := filepath.Join(dst, "mailferry.state")
	before, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	r = mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=wrong"}, "copy", src, "maildir:"+dst, "--ca-file", ca)
	expectCode(t, r, exitFailed)
	if !strings.Contains(r.stderr, "alice@example.com") || !strings.Contains(r.stderr, srv.Addr()) {
		t.Errorf("into an earlier copy: the error does not name user and server:\n%s", r)
	}
	if after, err := os.ReadFile(state); err != nil || string(after) != string(before) {
		t.Errorf("the failed run changed the state file (%v)", err)
	}
}

// The destination is opened while the source connects: here the source's
// connections reach its server only once the destination has been
// reached, which a run that opened one after the other would wait out
// until the source's timeout.
func TestIMAPDestinationOpenedWhileSourceConnects(t *testing.T) {
	srv, ca := startIMAPWith(t, []imapserver.User{{Name: "alice@example.com", Password: "s3cret"}, {Name: "bob", Password: "b0b"}})
	for i := range 4 {
		m := message("INBOX", i, 300)
		if err := srv.AddMessage("alice@example.com", "INBOX", nil, time.Unix(1700000000, 0), []byte(strings.ReplaceAll(m.body, "\n", "\r\n"))); err != nil {
			t.Fatal(err)
		}
	}
	dst := startCountingProxy(t, srv.TLSAddr())
	src := startHoldingProxy(t, srv.TLSAddr(), dst.reached)
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret", "MAILFERRY_DEST_PASSWORD=b0b"}, "copy",
		"imaps://alice%40example.com@"+src.ln.Addr().String(), "imaps://bob@"+dst.ln.Addr().String(),
		"--ca-file", ca, "--timeout", "3s", "--json")
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != 4 || s.Failed != 0 {
		t.Fatalf("summary %+v\n%s", s, r)
	}
}

// A --ca-file that cannot be read, or holds no certificate, is a usage
// error found before any connection.
func TestIMAPBadCAFile(t *testing.T) {
	srv, _ := startIMAP(t)
	proxy := startCountingProxy(t, srv.TLSAddr())
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{filepath.Join(t.TempDir(), "missing.pem"), "--ca-file: open "},
		{notPEM, "--ca-file " + notPEM + ": no PEM certificate found in it"},
	} {
		r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}, "copy", "imaps://alice%40example.com@"+proxy.ln.Addr().String(),
			"maildir:"+filepath.Join(t.TempDir(), "d"), "--ca-file", tc.file)
		expectCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("--ca-file %s: stderr does not say %q:\n%s", tc.file, tc.want, r)
		}
	}
	if n := proxy.conns.Load(); n != 0 {
		t.Errorf("%d connections to the server, want none", n)
	}
}

func TestIMAPToMaildir(t *testing.T) {
	srv, ca := startIMAP(t)
	ep := "imap://alice%40example.com@" + srv.Addr()
	dst := filepath.Join(t.TempDir(), "backup")
	env := []string{"MAILFERRY_SOURCE_PASSWORD=s3cret"}
	r := mailferry(t, env, "copy", ep, "maildir:"+dst, "--ca-file", ca, "--json")
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != 4 || s.Failed != 0 {
		t.Fatalf("summary %+v\n%s", s, r)
	}
	if got := len(messageFiles(t, dst)); got != 4 {
		t.Errorf("backup holds %d messages, want 4", got)
	}
	r = mailferry(t, env, "copy", ep, "maildir:"+dst, "--ca-file", ca, "--json")
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != 0 {
		t.Errorf("re-run copied %d again", s.Copied)
	}
}

// A provider migration: roles map Sent Items onto the new server's Sent,
// --map renames a folder, flags and dates arrive, and the final delta
// copies only what is new.
func TestIMAPMigrationWithFinalDelta(t *testing.T) {
	old, err := imapserver.Start(imapserver.Options{
		Users:      []imapserver.User{{Name: "alice", Password: "old-pw"}},
		SpecialUse: map[string]string{"Sent Items": `\Sent`},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	dst, err := imapserver.Start(imapserver.Options{
		Users:      []imapserver.User{{Name: "alice", Password: "new-pw"}},
		SpecialUse: map[string]string{"Sent": `\Sent`},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	add := func(folder string, i int, flags ...string) {
		body := []byte(strings.ReplaceAll(message(folder, i, 250).body, "\n", "\r\n"))
		if err := old.AddMessage("alice", folder, flags, time.Date(2019, 5, 1, 10, 0, i, 0, time.UTC), body); err != nil {
			t.Fatal(err)
		}
	}
	add("INBOX", 1, `\Seen`, "$Forwarded")
	add("INBOX", 2)
	add("Sent Items", 3, `\Seen`)
	add("Projekte/Alt", 4, `\Flagged`)

	env := []string{"MAILFERRY_SOURCE_PASSWORD=old-pw", "MAILFERRY_DEST_PASSWORD=new-pw"}
	src, to := "imap://alice@"+old.Addr()+"?tls=none", "imap://alice@"+dst.Addr()+"?tls=none"
	r := mailferry(t, env, "copy", src, to, "--map", "Projekte=Archive/Projekte", "--json")
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != 4 {
		t.Fatalf("copied %d, want 4\n%s", s.Copied, r)
	}
	got, err := imapserver.Dump(dst.Addr(), nil, "alice", "new-pw")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for f, msgs := range got {
		counts[f] = len(msgs)
	}
	want := map[string]int{"INBOX": 2, "Sent": 1, "Archive/Projekte/Alt": 1}
	for f, n := range want {
		if counts[f] != n {
			t.Errorf("folder %q holds %d messages, want %d (all: %v)", f, counts[f], n, counts)
		}
	}
	if n := counts["Sent Items"]; n != 0 {
		t.Errorf("Sent Items was created at the destination with %d messages instead of using Sent", n)
	}
	for _, m := range got["INBOX"] {
		if strings.Contains(string(m.Body), "message 1 ") {
			if strings.Join(m.Flags, " ") != `$Forwarded \Seen` {
				t.Errorf("flags %v, want $Forwarded \\Seen", m.Flags)
			}
			if !m.Date.Equal(time.Date(2019, 5, 1, 10, 0, 1, 0, time.UTC)) {
				t.Errorf("arrival date %v", m.Date)
			}
		}
	}

	// New mail arrives at the old provider before the MX switch; the final
	// run copies only that.
	add("INBOX", 5)
	r = mailferry(t, env, "copy", src, to, "--map", "Projekte=Archive/Projekte", "--json")
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != 1 || s.Skipped != 4 {
		t.Errorf("final delta: %+v, want 1 copied, 4 skipped", s)
	}
}

// The OAuth2 token command runs for every connection, and its token logs in.
func TestIMAPOAuth2TokenCommand(t *testing.T) {
	srv, err := imapserver.Start(imapserver.Options{
		Users:        []imapserver.User{{Name: "alice", Password: "unused-pw"}},
		OAuth2Tokens: map[string]string{"alice": "tok-123"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for i, folder := range []string{"INBOX", "Sent", "Archive"} {
		body := []byte(strings.ReplaceAll(message(folder, i, 200).body, "\n", "\r\n"))
		if err := srv.AddMessage("alice", folder, nil, time.Unix(1700000000, 0), body); err != nil {
			t.Fatal(err)
		}
	}
	calls := filepath.Join(t.TempDir(), "calls")
	cmd := "echo run >> " + calls + "; echo tok-123"
	r := mailferry(t, nil, "copy", "imap://alice@"+srv.Addr()+"?tls=none", "maildir:"+filepath.Join(t.TempDir(), "d"),
		"--source-oauth2-token-command", cmd, "--json")
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Copied != 3 {
		t.Errorf("copied %d, want 3\n%s", s.Copied, r)
	}
	b, _ := os.ReadFile(calls)
	if n := strings.Count(string(b), "run"); n < 1 {
		t.Errorf("the token command ran %d times", n)
	}
	r = mailferry(t, nil, "folders", "imap://alice@"+srv.Addr()+"?tls=none", "--source-oauth2-token-command", "echo wrong-token")
	expectCode(t, r, exitFailed)
}

// One mailbox reached under two names (after a DNS switch, the old
// provider's name points at the new server): --delete-source refuses with
// exit code 2 and deletes nothing.
func TestCopyDeleteSourceRefusesOneMailboxUnderTwoNames(t *testing.T) {
	srv, ca := startIMAP(t)
	_, port, _ := strings.Cut(srv.TLSAddr(), ":")
	src := "imaps://alice%40example.com@127.0.0.1:" + port
	dst := "imaps://alice%40example.com@localhost:" + port
	env := []string{"MAILFERRY_SOURCE_PASSWORD=s3cret", "MAILFERRY_DEST_PASSWORD=s3cret"}
	before := mailferry(t, env, "folders", src, "--ca-file", ca)
	expectCode(t, before, 0)
	state := filepath.Join(t.TempDir(), "state")
	r := mailferry(t, env, "copy", src, dst, "--include", "^INBOX$", "--delete-source", "--ca-file", ca, "--state", state)
	expectCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "same mailbox") || !strings.Contains(r.stderr, "nothing was deleted") {
		t.Errorf("the refusal does not say why:\n%s", r)
	}
	after := mailferry(t, env, "folders", src, "--ca-file", ca)
	if after.stdout != before.stdout {
		t.Errorf("the source changed:\nbefore\n%s\nafter\n%s", before.stdout, after.stdout)
	}
}
