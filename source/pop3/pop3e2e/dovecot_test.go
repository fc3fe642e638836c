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

// Dovecot lets several POP3 sessions read one maildrop (pop3_lock_session
// is off by default): a run whose chunks are fetched over four sessions at
// once copies every message exactly once and, with --delete-source,
// deletes exactly those, in the same run.
func TestDovecotPOP3SessionsDeleteSource(t *testing.T) {
	t.Parallel()
	s := dovecot.Start(t, dovecot.Options{Users: []dovecot.User{alice}})
	msgs := hostile(t)
	for i := range 40 {
		msgs = append(msgs, mail{fmt.Sprintf("n%d", i), []byte(fmt.Sprintf("Message-ID: <n%d@x>\r\nSubject: %d\r\n\r\n.body %d\r\n", i, i, i))})
	}
	msgs = deliver(t, s, alice.Name, msgs)
	so := dovecotPOP3(s, account.SecurityTLS)
	so.Sessions = 4
	root := filepath.Join(t.TempDir(), "backup")
	dst, err := maildir.New(root, maildir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := copyOnce(context.Background(), so, dst, dst.DefaultStatePath(), func(o *transfer.Options) {
		o.ChunkSize = 5
		o.Connections = 4
		o.DeleteSource = true
	})
	if err != nil || sum.Copied != len(msgs) || sum.Deleted != len(msgs) {
		t.Fatalf("copy --delete-source: %+v, %v; want %d copied and deleted", sum, err, len(msgs))
	}
	// Dovecot's log of each session: more than one retrieved, together
	// each message once, and the deletions were exactly the messages.
	// The log process may write the last lines a moment later.
	var sessions, retr, del int
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		sessions, retr, del = pop3Sessions(t, s.Log(), alice.Name)
		if (sessions >= 2 && retr == len(msgs) && del == len(msgs)) || time.Now().After(deadline) {
			break
		}
	}
	if sessions < 2 || retr != len(msgs) || del != len(msgs) {
		t.Fatalf("Dovecot logged %d sessions with %d RETRs and %d DELEs, want several sessions, %d of each\n%s", sessions, retr, del, len(msgs), s.Log())
	}
	if n := dovecotMessages(t, so); n != 0 {
		t.Fatalf("Dovecot still holds %d messages", n)
	}
	checkExactlyOnce(t, msgs, readMaildirInbox(t, root))
}

// pop3Sessions adds up the "Logged out" lines of user's POP3 sessions in a
// Dovecot log: how many sessions ended, and their RETR and DELE counts.
func pop3Sessions(t *testing.T, log, user string) (sessions, retr, del int) {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "pop3("+user+")") || !strings.Contains(line, "Logged out") || !strings.Contains(line, "retr=") || !strings.Contains(line, "del=") {
			continue
		}
		var r, d int
		_, err1 := fmt.Sscanf(line[strings.Index(line, "retr="):], "retr=%d/", &r)
		_, err2 := fmt.Sscanf(line[strings.Index(line, "del="):], "del=%d/", &d)
		if err1 != nil || err2 != nil {
			t.Fatalf("Dovecot log line %q: %v %v", line, err1, err2)
		}
		sessions++
		retr += r
		del += d
	}
	return sessions, retr, del
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
