package pop3

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/account"
	"github.com/mailferry/mailferry/transfer"
)

// scriptedLogin runs the authorization exchange against a server that
// sends script (whatever the client says) and then hangs up.
func scriptedLogin(t testing.TB, script string, sec account.Security) (*session, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte(script))
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	s := &Source{opts: Options{
		Addr:        "pop.example:110",
		Security:    sec,
		Credentials: account.Credentials{User: "alice", Password: account.StaticPassword("pw")},
		Timeout:     time.Second,
		Warn:        func(string) {},
	}}
	return s.authorize(context.Background(), &deadlineConn{Conn: client, timeout: time.Second})
}

func TestHandshakeReplies(t *testing.T) {
	tests := []struct {
		name   string
		script string
		sec    account.Security
		ok     bool
		class  transfer.Class
		errHas string
	}{
		{"user pass without capa", "+OK hi\r\n-ERR unknown command\r\n+OK\r\n+OK\r\n", account.SecurityNone, true, 0, ""},
		{"sasl plain", "+OK hi\r\n+OK\r\nSASL PLAIN\r\n.\r\n+OK welcome\r\n", account.SecurityNone, true, 0, ""},
		{"sasl plain with continuation", "+OK hi\r\n+OK\r\nSASL PLAIN\r\n.\r\n+ \r\n+OK welcome\r\n", account.SecurityNone, true, 0, ""},
		{"greeting refused", "-ERR [SYS/TEMP] too many connections\r\n", account.SecurityNone, false, transfer.Temporary, "SYS/TEMP"},
		{"garbage greeting", "* OK imap\r\n", account.SecurityNone, false, transfer.Temporary, "unexpected reply"},
		{"hang up after greeting", "+OK hi\r\n", account.SecurityNone, false, transfer.Temporary, "connection failed"},
		{"no stls in capa", "+OK hi\r\n+OK\r\nUSER\r\n.\r\n", account.SecurityStartTLS, false, transfer.Fatal, "does not offer STLS"},
		{"stls refused", "+OK hi\r\n-ERR\r\n-ERR not now\r\n", account.SecurityStartTLS, false, transfer.Fatal, "refused STLS"},
		{"stls with injected data", "+OK hi\r\n+OK\r\nSTLS\r\n.\r\n+OK go\r\n+OK injected\r\n", account.SecurityStartTLS, false, transfer.Fatal, "before the TLS handshake"},
		{"wrong password", "+OK hi\r\n+OK\r\n.\r\n+OK\r\n-ERR [AUTH] bad\r\n", account.SecurityNone, false, transfer.Fatal, `"alice"`},
		{"in use", "+OK hi\r\n+OK\r\n.\r\n+OK\r\n-ERR [IN-USE] locked\r\n", account.SecurityNone, false, transfer.Temporary, "IN-USE"},
		{"user refused", "+OK hi\r\n+OK\r\n.\r\n-ERR [AUTH] plaintext disallowed\r\n", account.SecurityNone, false, transfer.Fatal, "plaintext disallowed"},
		{"long line", "+OK " + strings.Repeat("x", 10000) + "\r\n", account.SecurityNone, false, transfer.Temporary, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess, err := scriptedLogin(t, tt.script, tt.sec)
			if tt.ok {
				if err != nil {
					t.Fatalf("login: %v", err)
				}
				return
			}
			if err == nil {
				sess.close()
				t.Fatal("login succeeded")
			}
			if c := transfer.ClassOf(err); c != tt.class {
				t.Errorf("class %v, want %v (%v)", c, tt.class, err)
			}
			if !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), "pop.example:110") {
				t.Errorf("error %q does not say %q and name the server", err, tt.errHas)
			}
		})
	}
}

// FuzzHandshake feeds arbitrary server replies to the authorization
// exchange: it must end (deadlines), never panic, and classify failures.
func FuzzHandshake(f *testing.F) {
	f.Add("+OK hi\r\n+OK\r\nSASL PLAIN XOAUTH2\r\nSTLS\r\n.\r\n+ \r\n+OK\r\n")
	f.Add("+OK\r\n-ERR\r\n+OK\r\n-ERR [IN-USE]\r\n")
	f.Add("+OK\n+OK\n.\n+\n-ERR [\n")
	f.Fuzz(func(t *testing.T, script string) {
		sess, err := scriptedLogin(t, script, account.SecurityNone)
		if err == nil {
			sess.close()
			return
		}
		if err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
