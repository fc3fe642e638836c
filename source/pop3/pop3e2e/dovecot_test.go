package pop3e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/internal/dovecot"
	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/sink/maildir"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/transfer"
)

var (
	alice = dovecot.User{Name: "alice", Password: "alice-pw"}
	bob   = dovecot.User{Name: "bob", Password: "bob-pw"}
)

// deliver puts messages into a Dovecot user's INBOX as Maildir files in
// new/, in local (LF) form as Dovecot keeps them, and returns the messages
// as they now are on the server.
func deliver(t *testing.T, s *dovecot.Server, user string, msgs []mail) []mail {
	t.Helper()
	root := s.MailDir(user)
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]mail, len(msgs))
	for i, m := range msgs {
		body := local(m.body)
		name := fmt.Sprintf("%d.M%dP1.test", 1700000000+i, i)
		if err := os.WriteFile(filepath.Join(root, "new", name), body, 0o600); err != nil {
			t.Fatal(err)
		}
		out[i] = mail{m.name, body}
	}
	if err := s.ChownMail(user); err != nil {
		t.Fatal(err)
	}
	return out
}

// dovecotPOP3 returns source options for alice over Dovecot's POP3 with the
// given security.
func dovecotPOP3(s *dovecot.Server, sec account.Security) pop3.Options {
	addr := s.POP3Addr
	if sec == account.SecurityTLS {
		addr = s.POP3SAddr
	}
	so := sourceOptions(addr, alice.Name, alice.Password)
	so.Security = sec
	so.TLSConfig = s.TLSConfig()
	return so
}

// dovecotMessages counts alice's messages as Dovecot's POP3 sees them.
func dovecotMessages(t *testing.T, so pop3.Options) int {
	t.Helper()
	src, err := pop3.New(context.Background(), so)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	list, err := src.List(context.Background(), pop3.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func TestDovecotPOP3ToMaildir(t *testing.T) {
	t.Parallel()
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{alice}})
	msgs := deliver(t, s, alice.Name, hostile(t))
	t.Run("starttls", func(t *testing.T) {
		copyToMaildir(t, dovecotPOP3(s, account.SecurityStartTLS), msgs)
	})
	// The other two ways in: one copy each.
	for _, sec := range []account.Security{account.SecurityTLS, account.SecurityNone} {
		t.Run(sec.String(), func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "backup")
			dst, err := maildir.New(root, maildir.Options{})
			if err != nil {
				t.Fatal(err)
			}
			sum, err := copyOnce(context.Background(), dovecotPOP3(s, sec), dst, "", nil)
			if err != nil || sum.Copied != len(msgs) {
				t.Fatalf("copy: %+v, %v", sum, err)
			}
			checkExactlyOnce(t, msgs, readMaildirInbox(t, root))
		})
	}
}

func TestDovecotPOP3ToIMAP(t *testing.T) {
	t.Parallel()
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{alice, bob}})
	// Dovecot's IMAP shows a NUL byte as 0x80 in BODY[] (it may not send
	// NUL outside BINARY), so messages holding NUL cannot read back
	// byte-identical from it; TestDovecotPOP3ToMaildir covers them.
	var withoutNUL []mail
	for _, m := range hostile(t) {
		if !bytes.Contains(m.body, []byte{0}) {
			withoutNUL = append(withoutNUL, m)
		}
	}
	msgs := deliver(t, s, alice.Name, withoutNUL)
	copyToIMAP(t, dovecotPOP3(s, account.SecurityStartTLS), msgs, imapconn.Options{
		Addr:        s.IMAPSAddr,
		Security:    account.SecurityTLS,
		TLSConfig:   s.TLSConfig(),
		Credentials: account.Credentials{User: bob.Name, Password: account.StaticPassword(bob.Password)},
		Timeout:     10 * time.Second,
	})
}

func TestDovecotPOP3DeleteSource(t *testing.T) {
	t.Parallel()
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{alice}})
	msgs := deliver(t, s, alice.Name, hostile(t))
	so := dovecotPOP3(s, account.SecurityTLS)
	root := filepath.Join(t.TempDir(), "backup")
	dst, err := maildir.New(root, maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A first run without --delete-source, then one with it: the second
	// copies nothing and deletes what the first stored.
	sum, err := copyOnce(context.Background(), so, dst, dst.DefaultStatePath(), nil)
	if err != nil || sum.Copied != len(msgs) {
		t.Fatalf("copy: %+v, %v", sum, err)
	}
	sum, err = copyOnce(context.Background(), so, dst, dst.DefaultStatePath(), func(o *transfer.Options) { o.DeleteSource = true })
	if err != nil || sum.Copied != 0 || sum.Deleted != len(msgs) {
		t.Fatalf("copy --delete-source: %+v, %v", sum, err)
	}
	if n := dovecotMessages(t, so); n != 0 {
		t.Fatalf("Dovecot still holds %d messages", n)
	}
	checkExactlyOnce(t, msgs, readMaildirInbox(t, root))
}

func TestDovecotWrongPassword(t *testing.T) {
	t.Parallel()
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{alice}})
	so := dovecotPOP3(s, account.SecurityTLS)
	so.Credentials.Password = account.StaticPassword("wrong")
	_, err := pop3.New(context.Background(), so)
	if err == nil || transfer.ClassOf(err) != transfer.Fatal {
		t.Fatalf("wrong password: %v (class %v), want a fatal error", err, transfer.ClassOf(err))
	}
	for _, want := range []string{s.POP3SAddr, `"alice"`, "check the user name and password"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
