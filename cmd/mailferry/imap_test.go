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
	srv, err := imapserver.Start(imapserver.Options{
		Users:      []imapserver.User{{Name: "alice@example.com", Password: "s3cret"}},
		SpecialUse: map[string]string{"Sent": `\Sent`},
		TLS:        true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for i, folder := range []string{"INBOX", "INBOX", "Sent", "Archive/2019"} {
		m := message(folder, i, 300)
		body := []byte(strings.ReplaceAll(m.body, "\n", "\r\n"))
		if err := srv.AddMessage("alice@example.com", folder, []string{`\Seen`}, time.Unix(1700000000+int64(i), 0), body); err != nil {
			t.Fatal(err)
		}
	}
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

func TestIMAPWrongPassword(t *testing.T) {
	srv, ca := startIMAP(t)
	r := mailferry(t, []string{"MAILFERRY_SOURCE_PASSWORD=wrong"}, "copy", "imap://alice%40example.com@"+srv.Addr(),
		"maildir:"+filepath.Join(t.TempDir(), "d"), "--ca-file", ca)
	expectCode(t, r, exitFailed)
	if !strings.Contains(r.stderr, "alice@example.com") || !strings.Contains(r.stderr, srv.Addr()) {
		t.Errorf("the error does not name user and server:\n%s", r)
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
