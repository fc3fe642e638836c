package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"

	"github.com/mailferry/mailferry/internal/account"
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
		pem, err := o.caFile()
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pool.AppendCertsFromPEM(pem)
		cfg.RootCAs = pool
	}
	cfg.InsecureSkipVerify = o.InsecureSkipVerify
	return cfg, nil
}

// check refuses a --ca-file that cannot be read or holds no certificate,
// as config would, without reading the system's trust roots, which take
// longer than the rest of a run with nothing to copy and are read when a
// connection needs them.
func (o tlsOptions) check() error {
	if o.CAFile == "" {
		return nil
	}
	_, err := o.caFile()
	return err
}

// caFile reads --ca-file, which must hold a PEM certificate.
func (o tlsOptions) caFile() ([]byte, error) {
	pem, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, usageErrorf("--ca-file: %v", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return nil, usageErrorf("--ca-file %s: no PEM certificate found in it", o.CAFile)
	}
	return pem, nil
}

// insecureWarning is printed, even with -q, whenever certificate checks are
// off: anyone on the path can then read the password and the mail.
const insecureWarning = `WARNING: --insecure-skip-verify: TLS certificates are NOT checked.
WARNING: anyone between you and the server can read your password and your mail.
WARNING: prefer --ca-file FILE to trust a private or self-signed certificate.`

// warnPlaintext prints, even with -q and on every run, that the login to
// a ?tls=none endpoint crosses the network in clear, as insecureWarning
// does for unchecked certificates: a setting that was right once (a server
// on this machine) should not go unnoticed when the server moves.
func warnPlaintext(w io.Writer, role string, ep Endpoint) {
	if !ep.IsServer() || ep.Security != account.SecurityNone {
		return
	}
	fmt.Fprintf(w, "WARNING: %s %s: ?tls=none: the password (or token) and the mail cross the network unencrypted.\n"+
		"WARNING: use %ss:// or %s:// (with STARTTLS) unless the server is on this machine.\n", role, ep, ep.Scheme, ep.Scheme)
}
