// Package account carries what sources and sinks need to log in to a
// server: the user name and functions that produce secrets on demand, so a
// password is read once and an OAuth2 token is fetched again for every new
// connection; and how to explain a connection that failed in a way trying
// again will not mend (a wrong port or scheme, an unknown host).
package account

import "context"

// Credentials identify a user on a server.
type Credentials struct {
	// User is the login name, already percent-decoded.
	User string
	// Password returns the password. Nil when the account uses OAuth2 only.
	Password func(ctx context.Context) (string, error)
	// OAuth2Token returns a fresh bearer token; it is called for every new
	// connection so hour-long tokens do not end long runs. Nil when unused.
	OAuth2Token func(ctx context.Context) (string, error)
}

// StaticPassword returns a Password function that always yields p.
func StaticPassword(p string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return p, nil }
}

// Security is how a connection to a server is protected.
type Security int

const (
	// SecurityTLS is implicit TLS from the first byte (imaps://, pop3s://).
	SecurityTLS Security = iota
	// SecurityStartTLS upgrades a plain connection with STARTTLS or STLS and
	// refuses to go on if the server does not offer it (imap://, pop3://).
	SecurityStartTLS
	// SecurityNone is plaintext, only when the user asked for it (?tls=none).
	SecurityNone
)

func (s Security) String() string {
	switch s {
	case SecurityTLS:
		return "tls"
	case SecurityStartTLS:
		return "starttls"
	default:
		return "none"
	}
}
