package main

import (
	"crypto/tls"
	"crypto/x509"
	"os"
)

// tlsOptions are the --ca-file and --insecure-skip-verify flags.
type tlsOptions struct {
	CAFile             string
	InsecureSkipVerify bool
}

// config returns the TLS configuration for a connection to host: the
// system's trust roots plus --ca-file, certificate names verified, TLS 1.2
// at least.
func (o tlsOptions) config(host string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, usageErrorf("--ca-file: %v", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageErrorf("--ca-file %s: no PEM certificate found in it", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	cfg.InsecureSkipVerify = o.InsecureSkipVerify
	return cfg, nil
}

// insecureWarning is printed, even with -q, whenever certificate checks are
// off: anyone on the path can then read the password and the mail.
const insecureWarning = `WARNING: --insecure-skip-verify: TLS certificates are NOT checked.
WARNING: anyone between you and the server can read your password and your mail.
WARNING: prefer --ca-file FILE to trust a private or self-signed certificate.`
