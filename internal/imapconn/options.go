package imapconn

import (
	"crypto/tls"
	"io"
	"time"

	"github.com/mailferry/mailferry/internal/account"
)

// Options say how to reach and log in to one IMAP account.
type Options struct {
	// Addr is host:port.
	Addr string
	// Security is implicit TLS, STARTTLS (required) or plaintext.
	Security account.Security
	// TLSConfig verifies the server's certificate; nil means the system
	// roots. ServerName defaults to the host of Addr.
	TLSConfig *tls.Config
	// Credentials are the user and the secret functions. OAuth2Token, when
	// set, is preferred over Password and called for every new connection.
	Credentials account.Credentials
	// Connections is the most connections open at once; 0 means 4.
	Connections int
	// Timeout is how long a command may wait for the server before the
	// connection is closed; 0 means 60s.
	Timeout time.Duration
	// Warn receives messages the user should see; nil discards them.
	Warn func(string)
	// Debug receives the raw protocol (credentials included); nil for none.
	Debug io.Writer
}

const (
	defaultConnections = 4
	defaultTimeout     = 60 * time.Second
)

func (o *Options) connections() int {
	if o.Connections <= 0 {
		return defaultConnections
	}
	return o.Connections
}

func (o *Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return defaultTimeout
	}
	return o.Timeout
}

// Warning passes msg to Warn, if set.
func (o *Options) Warning(msg string) {
	if o.Warn != nil {
		o.Warn(msg)
	}
}

// Server names the account in messages: "user@host:port".
func (o *Options) Server() string {
	if o.Credentials.User == "" {
		return o.Addr
	}
	return o.Credentials.User + "@" + o.Addr
}
