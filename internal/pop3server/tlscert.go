package pop3server

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/mailferry/mailferry/internal/testcert"
)

// SelfSigned makes a throwaway certificate for 127.0.0.1 and localhost. It
// returns the server's tls.Config and a client tls.Config that trusts it.
func SelfSigned() (server, client *tls.Config, err error) {
	cert, err := testcert.New(24 * time.Hour)
	if err != nil {
		return nil, nil, fmt.Errorf("pop3server: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert.TLS}}, &tls.Config{RootCAs: cert.Pool}, nil
}
