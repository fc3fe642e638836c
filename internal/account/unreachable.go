package account

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
)

// ErrNoAnswer is wrapped in the error of a connection that the server
// accepted and then left unanswered for the whole timeout: no greeting, no
// TLS handshake, no reply to a command.
var ErrNoAnswer = errors.New("no answer from the server")

// CannotHeal explains why the connection error err, met while connecting
// to user's account at addr over protocol proto ("imap" or "pop3") with
// sec, will not go away by trying again, and what to change; it returns ""
// for an error that may. Only the first connection of a run treats such an
// error as final: later in a run, a refused connection is more likely a
// server restarting.
func CannotHeal(proto string, sec Security, user, addr string, err error) string {
	host, port, _ := net.SplitHostPort(addr)
	var dnsErr *net.DNSError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Sprintf("unknown host %q: check the name in the endpoint", host)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing accepts connections on %s: check the port and the scheme (%s)", addr, usualPorts(proto))
	case sec == SecurityTLS && errors.As(err, &recErr):
		// A plaintext IMAP or POP3 server greets first, so the TLS
		// client reads "* OK" or "+OK" where a TLS record should be.
		plain := (&url.URL{Scheme: proto, User: url.User(user), Host: addr}).String()
		return fmt.Sprintf("%ss:// on a plaintext port: port %s answered without TLS; use %s (STARTTLS), or %ss:// with the server's TLS port (%s)",
			proto, port, plain, proto, usualPorts(proto))
	}
	return ""
}

// NoAnswerHint says what a server that accepts connections but does not
// answer may mean for an endpoint of scheme (imap, imaps, pop3, pop3s)
// with sec: most often a TLS port addressed in plaintext, which waits
// for a TLS handshake that never comes.
func NoAnswerHint(proto string, sec Security) string {
	if sec == SecurityTLS {
		return fmt.Sprintf("check that the port is the server's %s TLS port (%s)", proto, usualPorts(proto))
	}
	return fmt.Sprintf("if the port is the server's TLS port, use %ss:// (%s)", proto, usualPorts(proto))
}

func usualPorts(proto string) string {
	if proto == "pop3" {
		return "pop3s:// is usually port 995, pop3:// 110"
	}
	return "imaps:// is usually port 993, imap:// 143"
}
