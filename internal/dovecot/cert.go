package dovecot

import (
	"crypto/x509"
	"os"
	"time"

	"github.com/mailferry/mailferry/internal/testcert"
)

// writeCert creates a self-signed certificate for 127.0.0.1 and localhost
// (see testcert) and writes it and its key as PEM files.
func writeCert(certFile, keyFile string, validFor time.Duration) (*x509.Certificate, error) {
	cert, err := testcert.New(validFor)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(certFile, cert.CertPEM, 0o644); err != nil {
		return nil, err
	}
	// The key is read by Dovecot's config process, which runs as root when
	// Dovecot is started as root, so it can stay private.
	if err := os.WriteFile(keyFile, cert.KeyPEM, 0o600); err != nil {
		return nil, err
	}
	return cert.Leaf, nil
}
