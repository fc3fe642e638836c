package account

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestCannotHeal(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	unknown := &net.DNSError{Err: "no such host", Name: "imap.example.invalid", IsNotFound: true}
	busyDNS := &net.DNSError{Err: "server misbehaving", Name: "imap.example.com", IsTemporary: true}
	plaintext := tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}
	for _, c := range []struct {
		proto string
		sec   Security
		err   error
		want  string // "" when retrying may help
	}{
		{"imap", SecurityTLS, fmt.Errorf("connecting: %w", refused), "nothing accepts connections on imap.example.com:993: check the port and the scheme (imaps:// is usually port 993, imap:// 143)"},
		{"pop3", SecurityStartTLS, refused, "(pop3s:// is usually port 995, pop3:// 110)"},
		{"imap", SecurityTLS, unknown, `unknown host "imap.example.com": check the name in the endpoint`},
		{"imap", SecurityTLS, busyDNS, ""},
		{"imap", SecurityTLS, fmt.Errorf("TLS handshake: %w", plaintext), "imaps:// on a plaintext port: port 993 answered without TLS; use imap://alice%40example.com@imap.example.com:993 (STARTTLS)"},
		{"pop3", SecurityTLS, plaintext, "use pop3://alice%40example.com@imap.example.com:993 (STARTTLS), or pop3s:// with the server's TLS port"},
		{"imap", SecurityStartTLS, plaintext, ""},
		{"imap", SecurityTLS, syscall.ECONNRESET, ""},
	} {
		got := CannotHeal(c.proto, c.sec, "alice@example.com", "imap.example.com:993", c.err)
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%s %v %v: hint %q, want %q", c.proto, c.sec, c.err, got, c.want)
		}
	}
}
